import { Injectable } from '@nestjs/common';
import { SystemDatabase } from '../infra/database/system-database';
import { TenantDatabase } from '../infra/database/tenant-database';
import { tenantScope, type TenantScope } from '../infra/database/tenant-scope';
import type { WindowRef } from '../infra/redis/redis-keys';
import type { WindowCounters } from '../window-store';
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
  customerId?: string;
  fromMs: number;
  toMs: number;
  limit: number;
  after?: { windowStartMs: number; customerId: string };
}

/**
 * The one way into aggregation_windows. Reads take the tenant's scope; the closer's
 * flush writes many tenants' windows in one statement, so it goes the system path,
 * while a recompute names the one tenant its window belongs to.
 */
@Injectable()
export class WindowsRepository {
  constructor(
    private readonly tenantDb: TenantDatabase,
    private readonly systemDb: SystemDatabase,
  ) {}

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
    return this.systemDb.runAcrossTenants((m) =>
      m.query<WindowRow[]>(UPSERT_FROM_REDIS_SQL, columns),
    );
  }

  async recomputeFromRaw(ref: WindowRef, windowMs: number, graceMs: number): Promise<WindowRow[]> {
    const scope = tenantScope(ref.tenantId);
    return this.tenantDb.run(scope, (m) =>
      m.query<WindowRow[]>(RECOMPUTE_FROM_RAW_SQL, [
        scope.tenantId,
        ref.customerId,
        new Date(ref.windowStartMs).toISOString(),
        new Date(ref.windowStartMs + windowMs).toISOString(),
        graceMs,
      ]),
    );
  }

  async list(scope: TenantScope, query: WindowQuery): Promise<WindowRow[]> {
    const from = new Date(query.fromMs).toISOString();
    const to = new Date(query.toMs).toISOString();
    const afterStart = new Date(query.after?.windowStartMs ?? query.fromMs - 1).toISOString();
    const [sql, params] =
      query.customerId !== undefined
        ? [
            LIST_CUSTOMER_WINDOWS_SQL,
            [scope.tenantId, query.customerId, from, to, afterStart, query.limit],
          ]
        : [
            LIST_TENANT_WINDOWS_SQL,
            [scope.tenantId, from, to, afterStart, query.after?.customerId ?? '', query.limit],
          ];
    return this.tenantDb.run(scope, (m) => m.query<WindowRow[]>(sql, params));
  }
}
