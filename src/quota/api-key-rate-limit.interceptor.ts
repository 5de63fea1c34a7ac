import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import type { ApiKeyRateClass } from '../config/app-config';
import { AUTH_KEY, type AuthRequirement } from '../tenancy/auth.decorators';
import { TenantContext } from '../tenancy/tenant-context';
import { RATE_CLASS_KEY } from './rate-class';
import { rateLimitHeaders, retryAfterSeconds } from './rate-limit-headers';
import { RateLimiter } from './rate-limiter';

/**
 * Each API key's own rate limit, on every route a key authenticates (it runs after
 * the auth guard has set the principal). Ingestion spends one unit per event.
 */
@Injectable()
export class ApiKeyRateLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    private readonly context: TenantContext,
  ) {}

  async intercept(ctx: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const auth = this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_KEY, targets);
    if (auth?.kind !== 'key') return next.handle();
    const rateClass =
      this.reflector.getAllAndOverride<ApiKeyRateClass | undefined>(RATE_CLASS_KEY, targets) ??
      'requests';
    const http = ctx.switchToHttp();
    const body = http.getRequest<FastifyRequest>().body;
    const units = rateClass === 'events' && Array.isArray(body) ? Math.max(body.length, 1) : 1;
    const limited = await this.limiter.consumeForApiKey(
      this.context.principal().keyId,
      rateClass,
      units,
    );
    if (limited) {
      void http
        .getResponse<FastifyReply>()
        .headers(rateLimitHeaders(limited.rules, limited.decision));
      if (!limited.decision.allowed) {
        throw new DomainError(
          ErrorCode.RateLimited,
          `This API key is over its ${rateClass} rate.`,
          {
            retryAfterSeconds: retryAfterSeconds(limited.decision),
          },
        );
      }
    }
    return next.handle();
  }
}
