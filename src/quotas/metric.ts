import { DomainError, ErrorCode } from '../common/errors/domain-error';

/** What a quota can count: requests, or the tokens the caller reports per request. */
export const METRICS = ['calls', 'tokens'] as const;
export type Metric = (typeof METRICS)[number];

/** A metric named in a URL; any other name is a resource that does not exist. */
export function metricOf(name: string): Metric {
  const metric = METRICS.find((m) => m === name);
  if (!metric) {
    throw new DomainError(
      ErrorCode.NotFound,
      `There is no metric '${name}'; quotas count ${METRICS.join(' or ')}.`,
    );
  }
  return metric;
}
