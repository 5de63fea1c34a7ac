import { DomainError, ErrorCode, FieldError } from '../common/errors/domain-error';
import { validateBody } from '../common/validation/validate-body';
import type { Algorithm } from '../rate-limits';
import { periodSeconds, periodTooLong } from '../common/period/period';
import type { QuotaLimit } from './quota.repository';
import { quotaLimitSchema, quotaLimitsSchema } from './quota.schemas';

interface LimitBody {
  limit: number;
  period: string;
  algorithm: Algorithm;
}

const validateOne = validateBody<LimitBody>(quotaLimitSchema);
const validateMany = validateBody<{ limits: LimitBody[] }>(quotaLimitsSchema);

/**
 * `{limit, period, algorithm}` or `{limits: [...]}`: the set of limits a PUT installs.
 * Choosing the shape by its key first keeps the errors about the shape the caller meant.
 */
export function parseSetQuotaBody(body: unknown): QuotaLimit[] {
  if (body !== null && typeof body === 'object' && 'limits' in body) {
    return toLimits(validateMany(body).limits, '/limits');
  }
  return toLimits([validateOne(body)], null);
}

function toLimits(items: LimitBody[], listPath: string | null): QuotaLimit[] {
  const errors: FieldError[] = [];
  const seen = new Map<number, number>();
  const limits = items.map((item, i) => {
    const path = listPath === null ? '/period' : `${listPath}/${i}/period`;
    const seconds = periodSeconds(item.period);
    const tooLong = periodTooLong(seconds, path);
    if (tooLong) errors.push(tooLong);
    const first = seen.get(seconds);
    if (first === undefined) seen.set(seconds, i);
    else errors.push({ path, message: `repeats the period of ${listPath}/${first}` });
    return { limit: item.limit, periodSeconds: seconds, algorithm: item.algorithm };
  });
  if (errors.length > 0) {
    throw new DomainError(ErrorCode.ValidationFailed, 'The request is not valid.', { errors });
  }
  return limits;
}
