import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { tenantScope, type TenantScope } from '../infra/database/tenant-scope';
import type { Principal } from './principal';
import type { Scope } from './scope';

const PRINCIPAL = 'principal';

/** The request's tenant, held in AsyncLocalStorage; reading it outside a tenant request throws. */
@Injectable()
export class TenantContext {
  constructor(private readonly cls: ClsService) {}

  set(principal: Principal): void {
    this.cls.set(PRINCIPAL, principal);
  }

  principal(): Principal {
    const principal = this.cls.isActive()
      ? this.cls.get<Principal | undefined>(PRINCIPAL)
      : undefined;
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
