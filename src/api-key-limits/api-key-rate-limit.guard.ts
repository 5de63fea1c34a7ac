import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyRateClass } from '../config/app-config';
import { AUTH_KEY, type AuthRequirement, isTenantRoute } from '../common/access/auth.decorators';
import { TenantContext } from '../common/access/tenant-context';
import { KEY_CHARGED_BY_HANDLER, RATE_CLASS_KEY } from './rate-class';
import { ApiKeyRateGate } from './api-key-rate-gate';

/**
 * Each API key's own rate limit, on every route a key (or a token issued for it)
 * authenticates, except those whose handler charges it (ChargesKeyInHandler). It needs
 * the principal, so it runs
 * after AuthModule's AuthGuard: global guards run in the order their modules are
 * scanned, and this module imports AuthModule. Were that order ever lost, reading the
 * principal here fails every tenant route, which the rate-limit tests would show. A
 * guard, not an interceptor: with no interceptor bound, Nest runs a handler without
 * wrapping it in RxJS, which was a tenth of a quota check's CPU.
 */
@Injectable()
export class ApiKeyRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly gate: ApiKeyRateGate,
    private readonly context: TenantContext,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const auth = this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_KEY, targets);
    if (!isTenantRoute(auth)) return true;
    if (this.reflector.getAllAndOverride<boolean>(KEY_CHARGED_BY_HANDLER, targets)) return true;
    const rateClass =
      this.reflector.getAllAndOverride<ApiKeyRateClass | undefined>(RATE_CLASS_KEY, targets) ??
      'requests';
    const http = ctx.switchToHttp();
    await this.gate.admit(
      this.context.principal(),
      rateClass,
      http.getRequest<FastifyRequest>().body,
      http.getResponse<FastifyReply>(),
    );
    return true;
  }
}
