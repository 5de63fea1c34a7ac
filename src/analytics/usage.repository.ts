import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AggregationData } from '../window-store';
import { TenantDatabase } from '../infra/database/tenant-database';
import type { TenantScope } from '../infra/database/tenant-scope';
import type { Segment } from './bucket-plan';
import {
  breakdownOf,
  type Cell,
  type UsageQuery,
  type WindowContent,
  zeroMeasures,
} from './usage-cells';
import {
  CUSTOMER_EVENTS_SQL,
  USAGE_BREAKDOWN_SQL,
  USAGE_TOTALS_SQL,
  WINDOW_ROWS_SQL,
} from './usage.sql';

export interface WindowKey {
  customerId: string;
  windowStartMs: number;
}

/** A window's row in Postgres: its content and the hash revision it was flushed from (-1: recomputed). */
export interface StoredWindow extends WindowKey {
  flushedRev: number;
  content: WindowContent;
}

export interface EventRow {
  event_id: string;
  ts: Date;
  customer_id: string;
  endpoint: string;
  metadata: Record<string, unknown>;
  received_at: Date;
}

export interface EventsQuery {
  customerId: string;
  fromMs: number;
  toMs: number;
  after: { tsMs: number; eventId: string } | null;
  limit: number;
}

type Numeric = string | number;

interface TotalsRow {
  bucket: number;
  customer_id: string | null;
  calls: Numeric;
  tokens: Numeric;
  input_tokens: Numeric;
  output_tokens: Numeric;
  latency_sum_ms: Numeric;
  latency_count: Numeric;
  late_events: Numeric;
}

interface BreakdownRow {
  bucket: number;
  customer_id: string | null;
  name: string | null;
  calls: Numeric;
  tokens: Numeric;
}

interface WindowRow extends Omit<TotalsRow, 'bucket' | 'customer_id' | 'calls' | 'tokens'> {
  customer_id: string;
  window_start: Date;
  flushed_rev: Numeric;
  total_calls: Numeric;
  total_tokens: Numeric;
  total_input_tokens: Numeric;
  total_output_tokens: Numeric;
  aggregation_data: AggregationData;
}

/** Every analytics read of Postgres, for one tenant, through TenantDatabase (row-level security). */
@Injectable()
export class UsageRepository {
  constructor(private readonly db: TenantDatabase) {}

  /**
   * The query's sums over the rollups and windows, and the rows of the given windows, in
   * one transaction: `limit` rows at most (one more tells the caller there were more).
   */
  async sums(
    scope: TenantScope,
    query: UsageQuery,
    segments: Segment[],
    limit: number,
    windows: WindowKey[],
  ): Promise<{ cells: Cell[]; windows: StoredWindow[] }> {
    return this.db.run(scope, async (m) => {
      // These plans run for milliseconds, but a range of aggregation_windows estimated in
      // the millions of rows pushes their cost past jit_above_cost, and compiling took
      // ~250 ms of a 3 ms query (docs/queries.md).
      await m.query('SET LOCAL jit = off');
      return {
        cells: await this.cells(m, scope, query, segments, limit),
        windows: await this.windowRows(m, scope, windows),
      };
    });
  }

  /** The rows of the given windows as they are now (absent ones are left out). */
  async windows(scope: TenantScope, windows: WindowKey[]): Promise<StoredWindow[]> {
    if (windows.length === 0) return [];
    return this.db.run(scope, (m) => this.windowRows(m, scope, windows));
  }

  async events(scope: TenantScope, query: EventsQuery): Promise<EventRow[]> {
    // Without a cursor, every event from `from` on: event ids are never empty. (Not `from`
    // less 1 ms, which from 0001-01-01 is year 0, an instant Postgres cannot read.)
    const after = query.after ?? { tsMs: query.fromMs, eventId: '' };
    return this.db.run(scope, (m) =>
      m.query<EventRow[]>(CUSTOMER_EVENTS_SQL, [
        scope.tenantId,
        query.customerId,
        new Date(query.fromMs).toISOString(),
        new Date(query.toMs).toISOString(),
        new Date(after.tsMs).toISOString(),
        after.eventId,
        query.limit,
      ]),
    );
  }

  private async cells(
    m: EntityManager,
    scope: TenantScope,
    query: UsageQuery,
    segments: Segment[],
    limit: number,
  ): Promise<Cell[]> {
    const params = [
      scope.tenantId,
      segments.map((s) => s.source),
      segments.map((s) => new Date(s.fromMs).toISOString()),
      segments.map((s) => new Date(s.toMs).toISOString()),
      segments.map((s) => s.bucket),
      segments.map((s) => s.sign),
      query.customerIds,
      query.groupBy.includes('customer'),
      limit,
      // Every customer together: the rollups' own all-customers rows.
      query.customerIds === null && !query.groupBy.includes('customer'),
    ];
    const breakdown = breakdownOf(query);
    if (breakdown === null) {
      const rows = await m.query<TotalsRow[]>(USAGE_TOTALS_SQL, params);
      return rows.map((r) => ({
        bucket: r.bucket,
        customerId: r.customer_id,
        name: null,
        m: {
          calls: Number(r.calls),
          tokens: Number(r.tokens),
          inputTokens: Number(r.input_tokens),
          outputTokens: Number(r.output_tokens),
          latencySumMs: Number(r.latency_sum_ms),
          latencyCount: Number(r.latency_count),
          lateEvents: Number(r.late_events),
        },
      }));
    }
    const rows = await m.query<BreakdownRow[]>(USAGE_BREAKDOWN_SQL, [
      ...params,
      breakdown,
      breakdown === 'endpoint' ? 'byEndpoint' : 'byModel',
      query.groupBy.includes(breakdown),
      breakdown === 'endpoint' ? query.endpoints : query.models,
    ]);
    return rows.map((r) => ({
      bucket: r.bucket,
      customerId: r.customer_id,
      name: r.name,
      m: { ...zeroMeasures(), calls: Number(r.calls), tokens: Number(r.tokens) },
    }));
  }

  private async windowRows(
    m: EntityManager,
    scope: TenantScope,
    windows: WindowKey[],
  ): Promise<StoredWindow[]> {
    if (windows.length === 0) return [];
    const rows = await m.query<WindowRow[]>(WINDOW_ROWS_SQL, [
      scope.tenantId,
      windows.map((w) => w.customerId),
      windows.map((w) => new Date(w.windowStartMs).toISOString()),
    ]);
    return rows.map((r) => ({
      customerId: r.customer_id,
      windowStartMs: r.window_start.getTime(),
      flushedRev: Number(r.flushed_rev),
      content: {
        measures: {
          calls: Number(r.total_calls),
          tokens: Number(r.total_tokens),
          inputTokens: Number(r.total_input_tokens),
          outputTokens: Number(r.total_output_tokens),
          latencySumMs: Number(r.latency_sum_ms),
          latencyCount: Number(r.latency_count),
          lateEvents: Number(r.late_events),
        },
        data: r.aggregation_data,
      },
    }));
  }
}
