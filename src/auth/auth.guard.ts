import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { AdminAccess } from './admin-access';
import { ApiKeysService } from '../api-keys';
import { AUTH_KEY, type AuthRequirement } from '../common/access/auth.decorators';
import { Authenticator } from './authenticator';
import { readCredential } from './credentials';
import type { Principal } from '../common/access/principal';
import { TenantContext } from '../common/access/tenant-context';

/**
 * Global guard. A route without an auth decorator is refused, so forgetting one fails
 * closed. Tenant routes authenticate the key or token and put the principal into
 * TenantContext, where everything after the guard reads the tenant from.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly admin: AdminAccess,
    private readonly authenticator: Authenticator,
    private readonly keys: ApiKeysService,
    private readonly context: TenantContext,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_KEY, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    switch (requirement?.kind) {
      case undefined:
        throw new DomainError(ErrorCode.Forbidden, 'This route declares no access rule.');
      case 'public':
        return true;
      case 'admin':
        this.admin.check(request);
        return true;
      case 'apiKey': {
        const credential = readCredential(request);
        if (credential.kind !== 'apiKey') {
          throw new DomainError(ErrorCode.Unauthenticated, 'This route takes an X-API-Key.');
        }
        this.enter(await this.authenticator.authenticate(credential, request.ip));
        return true;
      }
      case 'key': {
        const credential = readCredential(request, requirement.ticket === true);
        const principal = await this.authenticator.authenticate(credential, request.ip);
        if (!principal.scopes.includes(requirement.scope)) {
          throw new DomainError(
            ErrorCode.Forbidden,
            `The credential lacks the '${requirement.scope}' scope.`,
          );
        }
        this.enter(principal);
        return true;
      }
    }
  }

  private enter(principal: Principal): void {
    this.context.set(principal);
    this.keys.noteUsed(principal);
  }
}
