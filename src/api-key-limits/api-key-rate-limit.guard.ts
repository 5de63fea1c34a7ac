import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, type ApiKeyRateClass, type AppConfig } from '../config/app-config';
import { AUTH_KEY, type AuthRequirement, isTenantRoute } from '../common/access/auth.decorators';
import { TenantContext } from '../common/access/tenant-context';
import { answerKeyRate } from './api-key-rate';
import { KEY_CHARGED_BY_HANDLER, RATE_CLASS_KEY } from './rate-class';
import { QUOTA_POLICY_HEADER, quotaPolicyValue } from '../rate-limits';
import { ApiKeyBudget } from './api-key-budget';

/**
 * Each API key's own rate limit, on every route a key (or a token issued for it)
 * authenticates. Ingestion spends one unit per event. It needs the principal, so it runs
 * after AuthModule's AuthGuard: global guards run in the order their modules are
 * scanned, and this module imports AuthModule. Were that order ever lost, reading the
 * principal here fails every tenant route, which the rate-limit tests would show. A
 * guard, not an interceptor: with no interceptor bound, Nest runs a handler without
 * wrapping it in RxJS, which was a tenth of a quota check's CPU.
 */
@Injectable()
export class ApiKeyRateLimitGuard implements CanActivate {
  private readonly policy: string;

  constructor(
    private readonly reflector: Reflector,
    private readonly budget: ApiKeyBudget,
    private readonly context: TenantContext,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.policy = quotaPolicyValue(config.quota.failurePolicy);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const auth = this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_KEY, targets);
    if (!isTenantRoute(auth)) return true;
    if (this.reflector.getAllAndOverride<boolean>(KEY_CHARGED_BY_HANDLER, targets)) return true;
    const rateClass =
      this.reflector.getAllAndOverride<ApiKeyRateClass | undefined>(RATE_CLASS_KEY, targets) ??
      'requests';
    const http = ctx.switchToHttp();
    const body = http.getRequest<FastifyRequest>().body;
    const reply = http.getResponse<FastifyReply>();
    const units = rateClass === 'events' && Array.isArray(body) ? Math.max(body.length, 1) : 1;
    const limited = await this.budget
      .charge(this.context.principal(), rateClass, units)
      .catch((error: unknown) => {
        // Fail-closed with Redis unreachable: the 503 names the policy that produced it.
        void reply.header(QUOTA_POLICY_HEADER, this.policy);
        throw error;
      });
    if (limited) answerKeyRate(reply, rateClass, limited);
    return true;
  }
}
