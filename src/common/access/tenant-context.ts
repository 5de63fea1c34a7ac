import { requestContext } from '@fastify/request-context';
import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../errors/domain-error';
import { tenantScope, type TenantScope } from '../../infra/database/tenant-scope';
import type { Principal } from './principal';
import type { Scope } from './scope';

declare module '@fastify/request-context' {
  interface RequestContextData {
    /** Set by TenantContextGuard once the request's credential is verified. */
    principal?: Principal;
  }
}

/**
 * The request's tenant, in the request's context (AsyncLocalStorage, opened per request
 * by @fastify/request-context); reading it outside a tenant request throws.
 */
@Injectable()
export class TenantContext {
  set(principal: Principal): void {
    requestContext.set('principal', principal);
  }

  principal(): Principal {
    const principal = requestContext.get('principal');
    if (!principal) {
      throw new DomainError(ErrorCode.Unauthenticated, 'No tenant in the request context.');
    }
    return principal;
  }

  tenantId(): string {
    return this.principal().tenantId;
  }

  /** What tenant-scoped repositories take: the only tenant this request may touch. */
  scope(): TenantScope {
    return tenantScope(this.tenantId());
  }

  has(scope: Scope): boolean {
    return this.principal().scopes.includes(scope);
  }
}
