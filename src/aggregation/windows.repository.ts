import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { WindowRef } from './redis-layout';
import type { WindowCounters } from './window-hash';
import type { WindowRow } from './window-view';
import {
  LIST_CUSTOMER_WINDOWS_SQL,
  LIST_TENANT_WINDOWS_SQL,
  RECOMPUTE_FROM_RAW_SQL,
  UPSERT_FROM_REDIS_SQL,
} from './windows.sql';

export interface FlushRow {
  ref: WindowRef;
  windowEndMs: number;
  counters: WindowCounters;
}

export interface WindowQuery {
  tenantId: string;
  customerId?: string;
  fromMs: number;
  toMs: number;
  limit: number;
  after?: { windowStartMs: number; customerId: string };
}

/**
 * The one way into aggregation_windows. Every read takes the tenant explicitly; the
 * writes are called by the closer, which works across tenants by design.
 */
@Injectable()
export class WindowsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Returns the rows that changed (a stale or Postgres-owned window is left alone). */
  async upsertFromRedis(rows: FlushRow[]): Promise<WindowRow[]> {
    if (rows.length === 0) return [];
    const columns: unknown[][] = Array.from({ length: 13 }, () => []);
    for (const { ref, windowEndMs, counters: c } of rows) {
      const values = [
        ref.tenantId,
        ref.customerId,
        new Date(ref.windowStartMs).toISOString(),
        new Date(windowEndMs).toISOString(),
        c.calls,
        c.tokens,
        c.inputTokens,
        c.outputTokens,
        c.latencySumMs,
        c.latencyCount,
        JSON.stringify(c.data),
        c.lateEvents,
        c.rev,
      ];
      values.forEach((value, i) => columns[i].push(value));
    }
    return this.dataSource.query<WindowRow[]>(UPSERT_FROM_REDIS_SQL, columns);
  }

  async recomputeFromRaw(ref: WindowRef, windowMs: number, graceMs: number): Promise<WindowRow[]> {
    return this.dataSource.query<WindowRow[]>(RECOMPUTE_FROM_RAW_SQL, [
      ref.tenantId,
      ref.customerId,
      new Date(ref.windowStartMs).toISOString(),
      new Date(ref.windowStartMs + windowMs).toISOString(),
      graceMs,
    ]);
  }

  async list(query: WindowQuery): Promise<WindowRow[]> {
    const from = new Date(query.fromMs).toISOString();
    const to = new Date(query.toMs).toISOString();
    const afterStart = new Date(query.after?.windowStartMs ?? query.fromMs - 1).toISOString();
    if (query.customerId !== undefined) {
      return this.dataSource.query<WindowRow[]>(LIST_CUSTOMER_WINDOWS_SQL, [
        query.tenantId,
        query.customerId,
        from,
        to,
        afterStart,
        query.limit,
      ]);
    }
    return this.dataSource.query<WindowRow[]>(LIST_TENANT_WINDOWS_SQL, [
      query.tenantId,
      from,
      to,
      afterStart,
      query.after?.customerId ?? '',
      query.limit,
    ]);
  }
}
