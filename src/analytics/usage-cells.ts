import type { AggregationData, WindowCounters } from '../window-store';
import { DomainError, ErrorCode } from '../common/errors/domain-error';

export type Dimension = 'customer' | 'endpoint' | 'model';
export type Breakdown = 'endpoint' | 'model';

/** What one answer sums: windows by bucket, grouped and filtered. */
export interface UsageQuery {
  /** Bucket boundaries, ascending: bucket i is [bounds[i], bounds[i + 1]). */
  bounds: number[];
  groupBy: Dimension[];
  customerIds: string[] | null;
  endpoints: string[] | null;
  models: string[] | null;
}

/** A window's measures: its counters without the flush revision and the breakdowns. */
export type Measures = Omit<WindowCounters, 'rev' | 'data'>;

/** One summed row: its bucket, and the customer and endpoint/model name when grouped by them. */
export interface Cell {
  bucket: number;
  customerId: string | null;
  name: string | null;
  m: Measures;
}

/** A window's counts, as a Postgres row or a Redis hash holds them. */
export interface WindowContent {
  measures: Measures;
  data: AggregationData;
}

/**
 * Windows keep calls and tokens per endpoint and per model, each on its own, not per
 * endpoint and model together: an answer may involve one of them, not both.
 */
export function breakdownOf(
  query: Pick<UsageQuery, 'groupBy' | 'endpoints' | 'models'>,
): Breakdown | null {
  const endpoint = query.groupBy.includes('endpoint') || query.endpoints !== null;
  const model = query.groupBy.includes('model') || query.models !== null;
  if (endpoint && model) {
    throw new DomainError(
      ErrorCode.ValidationFailed,
      'Usage is kept per endpoint and per model, not per endpoint and model together: group or filter by one of them.',
      { errors: [{ path: '/groupBy', message: 'combines endpoint and model' }] },
    );
  }
  return endpoint ? 'endpoint' : model ? 'model' : null;
}

export function zeroMeasures(): Measures {
  return {
    calls: 0,
    tokens: 0,
    inputTokens: 0,
    outputTokens: 0,
    latencySumMs: 0,
    latencyCount: 0,
    lateEvents: 0,
  };
}

/** Sums windows into the cells of a query, each window with a sign (+1 counted, -1 taken back). */
export class CellSums {
  private readonly cells = new Map<string, Cell>();
  private readonly breakdown: Breakdown | null;
  private readonly names: Set<string> | null;
  private readonly customers: Set<string> | null;

  constructor(
    private readonly query: UsageQuery,
    initial: Cell[] = [],
  ) {
    this.breakdown = breakdownOf(query);
    const names = this.breakdown === 'endpoint' ? query.endpoints : query.models;
    this.names = names && new Set(names);
    this.customers = query.customerIds && new Set(query.customerIds);
    for (const cell of initial) this.cell(cell.bucket, cell.customerId, cell.name, cell.m, 1);
  }

  /** Adds a window that starts at `windowStartMs`; one outside the buckets or the filters adds nothing. */
  addWindow(customerId: string, windowStartMs: number, content: WindowContent, sign: 1 | -1): void {
    const bucket = bucketOf(this.query.bounds, windowStartMs);
    if (bucket < 0 || (this.customers && !this.customers.has(customerId))) return;
    const customer = this.query.groupBy.includes('customer') ? customerId : null;
    if (this.breakdown === null) {
      this.cell(bucket, customer, null, content.measures, sign);
      return;
    }
    const entries = this.breakdown === 'endpoint' ? content.data.byEndpoint : content.data.byModel;
    const grouped = this.query.groupBy.includes(this.breakdown);
    for (const [name, { calls, tokens }] of Object.entries(entries)) {
      if (this.names && !this.names.has(name)) continue;
      this.cell(
        bucket,
        customer,
        grouped ? name : null,
        { ...zeroMeasures(), calls, tokens },
        sign,
      );
    }
  }

  /** The cells with calls, by bucket, customer and name. */
  result(): Cell[] {
    return [...this.cells.values()]
      .filter((c) => c.m.calls !== 0)
      .sort(
        (a, b) =>
          a.bucket - b.bucket || compare(a.customerId, b.customerId) || compare(a.name, b.name),
      );
  }

  private cell(
    bucket: number,
    customerId: string | null,
    name: string | null,
    m: Measures,
    sign: 1 | -1,
  ): void {
    const key = `${bucket}\u0000${customerId ?? ''}\u0000${name ?? ''}`;
    let cell = this.cells.get(key);
    if (!cell) {
      cell = { bucket, customerId, name, m: zeroMeasures() };
      this.cells.set(key, cell);
    }
    for (const field of Object.keys(m) as (keyof Measures)[]) cell.m[field] += sign * m[field];
  }
}

/** The bucket holding `ms`, or -1 outside them all. */
export function bucketOf(bounds: readonly number[], ms: number): number {
  if (ms < bounds[0] || ms >= bounds[bounds.length - 1]) return -1;
  let lo = 0;
  let hi = bounds.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid] <= ms) lo = mid;
    else hi = mid;
  }
  return lo;
}

function compare(a: string | null, b: string | null): number {
  return (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0;
}
