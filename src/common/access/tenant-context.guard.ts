import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AUTH_KEY, type AuthRequirement, isTenantRoute } from './auth.decorators';
import { TenantContext } from './tenant-context';

/**
 * The first layer's backstop: a tenant route's handler never runs without a principal in
 * the request context. AuthGuard sets it and runs first (registered before this one in
 * the same module); if some future path skipped it, this fails the request (500, logged)
 * instead of letting a handler run with no tenant. A guard, not an interceptor: with no
 * interceptor bound, Nest runs a handler without wrapping it in RxJS.
 */
@Injectable()
export class TenantContextGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly context: TenantContext,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    const requirement = this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_KEY, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (isTenantRoute(requirement)) {
      try {
        this.context.principal();
      } catch {
        throw new Error(
          `tenant route ${ctx.getClass().name}.${ctx.getHandler().name} reached without a principal`,
        );
      }
    }
    return true;
  }
}
