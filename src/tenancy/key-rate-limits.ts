import { MAX_PERIOD_SECONDS, formatPeriod, periodSeconds } from '../common/period/period';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import type { ApiKeyRateClass } from '../config/app-config';
import type { KeyRateLimits } from './principal';

/** As the API takes and shows them: `{requests: {limit: 5000, period: '1h'}}`. */
export type KeyRateLimitsBody = Partial<Record<ApiKeyRateClass, { limit: number; period: string }>>;

export function toKeyRateLimits(body: KeyRateLimitsBody, path: string): KeyRateLimits {
  const limits: KeyRateLimits = {};
  for (const [rateClass, { limit, period }] of Object.entries(body) as [
    ApiKeyRateClass,
    { limit: number; period: string },
  ][]) {
    const seconds = periodSeconds(period);
    if (seconds > MAX_PERIOD_SECONDS) {
      throw new DomainError(ErrorCode.ValidationFailed, 'The request is not valid.', {
        errors: [
          {
            path: `${path}/${rateClass}/period`,
            message: `must be at most ${MAX_PERIOD_SECONDS / 86_400}d`,
          },
        ],
      });
    }
    limits[rateClass] = { limit, periodSeconds: seconds };
  }
  return limits;
}

export function keyRateLimitsView(limits: KeyRateLimits): KeyRateLimitsBody {
  const view: KeyRateLimitsBody = {};
  for (const [rateClass, rate] of Object.entries(limits) as [
    ApiKeyRateClass,
    { limit: number; periodSeconds: number },
  ][]) {
    view[rateClass] = { limit: rate.limit, period: formatPeriod(rate.periodSeconds) };
  }
  return view;
}
