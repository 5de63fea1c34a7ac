import { DomainError, ErrorCode } from '../common/errors/domain-error';
import type { ExceededView } from './quota-views';

/**
 * A refused consume: a 429 whose problem body also says which limit refused and until
 * when (the decision's fields as RFC 9457 extension members, rendered by ProblemFilter).
 */
export class QuotaExceeded extends DomainError {
  constructor(view: ExceededView, units: number, retryAfterSeconds: number) {
    const { metric, limit, period, algorithm, remaining } = view.exceeded;
    const when =
      view.retryAt === null
        ? 'it asks for more than the whole limit and can never pass'
        : `retry at ${view.retryAt}`;
    super(
      ErrorCode.RateLimited,
      `${units} ${metric} asked, ${remaining} left of ${limit} per ${period} (${algorithm}); ${when}.`,
      { retryAfterSeconds, members: view },
    );
  }
}
