import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { AUTH_KEY, type AuthRequirement, isTenantRoute } from './auth.decorators';
import { TenantContext } from './tenant-context';

/**
 * The first layer's backstop: a tenant route's handler never runs without a principal in
 * the request context. The guard sets it; if some future path skipped the guard, this
 * fails the request (500, logged) instead of letting a handler run with no tenant.
 */
@Injectable()
export class TenantContextInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly context: TenantContext,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
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
    return next.handle();
  }
}
