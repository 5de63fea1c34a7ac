import type { IANAZone } from 'luxon';
import type { AggregationData } from '../window-store';
import { dateInZone, isoInZone } from './buckets';
import type { OpenWindow } from './open-windows';
import {
  breakdownOf,
  type Cell,
  type Dimension,
  type Measures,
  type UsageQuery,
  zeroMeasures,
} from './usage-cells';
import type { Sums } from './usage-engine';

/** How fresh an answer is. */
export interface Freshness {
  /** The instant the counts are true at. */
  asOf: string;
  /** Whether windows still open in Redis (not flushed yet) are counted; false when Redis could not be asked. */
  includesOpenWindows: boolean;
  /** How many of them were counted from Redis rather than Postgres. */
  openWindows: number;
}

export interface UsageRow {
  bucketStart: string;
  bucketEnd: string;
  customerId?: string;
  endpoint?: string;
  model?: string;
  calls: number;
  tokens: number;
  /** null in answers by endpoint or model: windows keep only calls and tokens per endpoint and model. */
  inputTokens: number | null;
  outputTokens: number | null;
  avgLatencyMs: number | null;
  lateEvents: number | null;
}

export interface UsageAnswer extends Freshness {
  from: string;
  to: string;
  granularity: string;
  timezone: string;
  groupBy: Dimension[];
  data: UsageRow[];
}

export function freshness(sums: Sums): Freshness {
  return {
    asOf: new Date(sums.asOfMs).toISOString(),
    includesOpenWindows: sums.includesOpenWindows,
    openWindows: sums.openWindows,
  };
}

/**
 * Rows by bucket and group. Without a grouping every bucket has its row, zeros included,
 * so a chart needs no gap filling; with one, only groups that had calls.
 */
export function usageRows(query: UsageQuery, cells: Cell[], zone: IANAZone): UsageRow[] {
  const totals = breakdownOf(query) === null;
  const name = breakdownOf(query);
  const byBucket = new Map(cells.map((c) => [c.bucket, c]));
  const filled =
    query.groupBy.length > 0
      ? cells
      : query.bounds.slice(0, -1).map(
          (_, bucket): Cell =>
            byBucket.get(bucket) ?? {
              bucket,
              customerId: null,
              name: null,
              m: zeroMeasures(),
            },
        );
  const labels = query.bounds.map((ms) => isoInZone(ms, zone));
  return filled.map((c) => ({
    bucketStart: labels[c.bucket],
    bucketEnd: labels[c.bucket + 1],
    ...(query.groupBy.includes('customer') ? { customerId: c.customerId! } : {}),
    ...(name && query.groupBy.includes(name) ? { [name]: c.name! } : {}),
    calls: c.m.calls,
    tokens: c.m.tokens,
    inputTokens: totals ? c.m.inputTokens : null,
    outputTokens: totals ? c.m.outputTokens : null,
    avgLatencyMs: totals ? averageLatency(c.m) : null,
    lateEvents: totals ? c.m.lateEvents : null,
  }));
}

export interface DailyRow {
  /** The calendar date in the answer's time zone. */
  date: string;
  customerId: string;
  calls: number;
  tokens: number;
}

export function dailyRows(query: UsageQuery, cells: Cell[], zone: IANAZone): DailyRow[] {
  const dates = query.bounds.map((ms) => dateInZone(ms, zone));
  return cells.map((c) => ({
    date: dates[c.bucket],
    customerId: c.customerId!,
    calls: c.m.calls,
    tokens: c.m.tokens,
  }));
}

export type TopRow = { calls: number; tokens: number } & Partial<
  Record<'customerId' | 'endpoint' | 'model', string>
>;

/** The `limit` groups with the most `by`, ties by name. */
export function topRows(
  cells: Cell[],
  dimension: Dimension,
  by: 'calls' | 'tokens',
  limit: number,
): TopRow[] {
  const keyOf = (c: Cell) => (dimension === 'customer' ? c.customerId! : c.name!);
  return [...cells]
    .sort((a, b) => b.m[by] - a.m[by] || (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0))
    .slice(0, limit)
    .map((c) => ({
      [dimension === 'customer' ? 'customerId' : dimension]: keyOf(c),
      calls: c.m.calls,
      tokens: c.m.tokens,
    }));
}

export interface LiveWindow {
  windowStart: string;
  windowEnd: string;
  calls: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  avgLatencyMs: number | null;
  lateEvents: number;
  byEndpoint: AggregationData['byEndpoint'];
  byModel: AggregationData['byModel'];
}

export function liveCustomers(
  windows: OpenWindow[],
): { customerId: string; windows: LiveWindow[] }[] {
  const byCustomer = new Map<string, LiveWindow[]>();
  const sorted = [...windows].sort(
    (a, b) =>
      (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0) ||
      a.windowStartMs - b.windowStartMs,
  );
  for (const w of sorted) {
    const list = byCustomer.get(w.customerId) ?? [];
    const m = w.content.measures;
    list.push({
      windowStart: new Date(w.windowStartMs).toISOString(),
      windowEnd: new Date(w.windowEndMs).toISOString(),
      calls: m.calls,
      tokens: m.tokens,
      inputTokens: m.inputTokens,
      outputTokens: m.outputTokens,
      avgLatencyMs: averageLatency(m),
      lateEvents: m.lateEvents,
      byEndpoint: w.content.data.byEndpoint,
      byModel: w.content.data.byModel,
    });
    byCustomer.set(w.customerId, list);
  }
  return [...byCustomer].map(([customerId, list]) => ({ customerId, windows: list }));
}

/** Rounded to 2 decimals as the windows' own average is (half up), from integers. */
export function averageLatency(m: Pick<Measures, 'latencySumMs' | 'latencyCount'>): number | null {
  return m.latencyCount > 0 ? Math.round((m.latencySumMs * 100) / m.latencyCount) / 100 : null;
}
