import { formatPeriod, periodSeconds, periodTooLong } from '../common/period/period';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import type { ApiKeyRateClass } from '../config/app-config';
import type { KeyRateLimits } from '../common/access/principal';

/** As the API takes and shows them: `{requests: {limit: 5000, period: '1h'}}`. */
export type KeyRateLimitsBody = Partial<Record<ApiKeyRateClass, { limit: number; period: string }>>;

export function toKeyRateLimits(body: KeyRateLimitsBody, path: string): KeyRateLimits {
  const limits: KeyRateLimits = {};
  for (const [rateClass, { limit, period }] of Object.entries(body) as [
    ApiKeyRateClass,
    { limit: number; period: string },
  ][]) {
    const seconds = periodSeconds(period);
    const tooLong = periodTooLong(seconds, `${path}/${rateClass}/period`);
    if (tooLong) {
      throw new DomainError(ErrorCode.ValidationFailed, 'The request is not valid.', {
        errors: [tooLong],
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
