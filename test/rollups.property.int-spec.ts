import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import fc from 'fast-check';
import { Pool, type PoolClient } from 'pg';
import { randomUUID } from 'node:crypto';
import type { WindowRef } from '../src/infra/redis/redis-keys';
import type { WindowCounters } from '../src/window-store/window-hash';
import { WindowsRepository } from '../src/windows/windows.repository';
import { TenantsService } from '../src/tenants/tenants.service';
import { eventually, TestStack } from './support/harness';

const WINDOW_MS = 2000;
/** Window starts across an hour and a UTC day boundary, two of them in one hour. */
const STARTS = [
  '2026-11-20T22:59:58Z',
  '2026-11-20T23:00:00Z',
  '2026-11-20T23:59:58Z',
  '2026-11-21T00:00:00Z',
].map(Date.parse);
const CUSTOMERS = ['c-1', 'c-2'];
const NAMES = ['x', 'y', 'z'];

type Op =
  | { kind: 'flush'; windows: { w: number; rev: number; counters: Omit<WindowCounters, 'rev'> }[] }
  | { kind: 'recompute'; w: number; events: { tokens: number; model: string; endpoint: string }[] }
  | { kind: 'delete'; w: number };

const breakdown = fc.dictionary(
  fc.constantFrom(...NAMES),
  fc.record({ calls: fc.nat(50), tokens: fc.nat(5000) }),
);
const counters = fc.record({
  calls: fc.nat(100),
  tokens: fc.nat(10_000),
  inputTokens: fc.nat(10_000),
  outputTokens: fc.nat(10_000),
  latencySumMs: fc.nat(100_000),
  latencyCount: fc.nat(100),
  lateEvents: fc.nat(5),
  data: fc.record({ byEndpoint: breakdown, byModel: breakdown }),
});
const windowIndex = fc.nat(STARTS.length * CUSTOMERS.length - 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('flush' as const),
      windows: fc.uniqueArray(
        fc.record({ w: windowIndex, rev: fc.integer({ min: 1, max: 6 }), counters }),
        {
          minLength: 1,
          maxLength: 4,
          selector: (x) => x.w,
        },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('recompute' as const),
      w: windowIndex,
      events: fc.array(
        fc.record({
          tokens: fc.nat(1000),
          model: fc.constantFrom(...NAMES),
          endpoint: fc.constantFrom(...NAMES),
        }),
        { maxLength: 4 },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), w: windowIndex }) },
);

/**
 * Property: whatever flushes (fenced by revision, so stale and repeated ones change
 * nothing), recomputes from raw events and deletions hit the windows, in any order and
 * several at once on separate connections, every hourly and daily rollup, totals and
 * breakdowns, per customer and for all customers together (customer_id ''), equals the
 * sum of the windows in its bucket.
 */
describe('rollups equal the sum of their windows (property)', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let owner: Pool;

  beforeAll(async () => {
    stack = await TestStack.create({ CLOSER_INTERVAL_MS: '60000', DATABASE_POOL_SIZE: '6' });
    app = await stack.start();
    owner = new Pool({ connectionString: stack.env.DATABASE_URL, max: 4 });
  });

  afterAll(async () => {
    await owner.end();
    await stack.dispose();
  });

  const ref = (tenantId: string, w: number): WindowRef => ({
    shard: 0,
    tenantId,
    customerId: CUSTOMERS[w % CUSTOMERS.length],
    windowStartMs: STARTS[Math.floor(w / CUSTOMERS.length)],
  });

  async function apply(tenantId: string, o: Op, windows: WindowsRepository): Promise<void> {
    switch (o.kind) {
      case 'flush': {
        // In key order, as one closer pass would be: two statements never lock windows crosswise.
        const rows = o.windows
          .map((x) => ({
            ref: ref(tenantId, x.w),
            windowEndMs: 0,
            counters: { ...x.counters, rev: x.rev },
          }))
          .map((r) => ({ ...r, windowEndMs: r.ref.windowStartMs + WINDOW_MS }))
          .sort(
            (a, b) =>
              a.ref.customerId.localeCompare(b.ref.customerId) ||
              a.ref.windowStartMs - b.ref.windowStartMs,
          );
        await windows.upsertFromRedis(rows);
        return;
      }
      case 'recompute': {
        const r = ref(tenantId, o.w);
        for (const e of o.events) {
          await owner.query(
            `INSERT INTO usage_events (event_id, tenant_id, customer_id, ts, endpoint, metadata)
             VALUES ($1, $2, $3, $4, $5, $6)`,
            [
              randomUUID(),
              tenantId,
              r.customerId,
              new Date(r.windowStartMs + 1),
              e.endpoint,
              { tokens: e.tokens, model: e.model },
            ],
          );
        }
        await windows.recomputeFromRaw(r, WINDOW_MS, 500);
        return;
      }
      case 'delete': {
        const r = ref(tenantId, o.w);
        await owner.query(
          'DELETE FROM aggregation_windows WHERE tenant_id = $1 AND customer_id = $2 AND window_start = $3',
          [tenantId, r.customerId, new Date(r.windowStartMs)],
        );
        return;
      }
    }
  }

  /** The rollups as stored, and as the windows say they must be, both without zero rows. */
  async function compare(tenantId: string) {
    const q = async (sql: string) => (await stack.pg.query(sql, [tenantId])).rows;
    const grains = `(VALUES ('hour'), ('day')) AS g (grain)`;
    return {
      totals: await q(
        `SELECT grain, bucket_start, customer_id, calls, tokens, input_tokens, output_tokens,
                latency_sum_ms, latency_count, late_events
         FROM usage_rollups
         WHERE tenant_id = $1 AND (calls, tokens, input_tokens, output_tokens, latency_sum_ms,
               latency_count, late_events) <> (0, 0, 0, 0, 0, 0, 0)
         ORDER BY 1, 2, 3`,
      ),
      expectedTotals: await q(
        `SELECT grain, date_trunc(grain, window_start, 'UTC') AS bucket_start,
                COALESCE(customer_id, '') AS customer_id,
                sum(total_calls) AS calls, sum(total_tokens) AS tokens,
                sum(total_input_tokens) AS input_tokens, sum(total_output_tokens) AS output_tokens,
                sum(latency_sum_ms) AS latency_sum_ms, sum(latency_count) AS latency_count,
                sum(late_events) AS late_events
         FROM aggregation_windows, ${grains}
         WHERE tenant_id = $1
         GROUP BY grain, date_trunc(grain, window_start, 'UTC'), GROUPING SETS ((customer_id), ())
         HAVING (sum(total_calls), sum(total_tokens), sum(total_input_tokens),
                 sum(total_output_tokens), sum(latency_sum_ms), sum(latency_count),
                 sum(late_events)) <> (0, 0, 0, 0, 0, 0, 0)
         ORDER BY 1, 2, 3`,
      ),
      breakdowns: await q(
        `SELECT grain, dimension, bucket_start, customer_id, name, calls, tokens
         FROM usage_rollup_breakdowns
         WHERE tenant_id = $1 AND (calls, tokens) <> (0, 0)
         ORDER BY 1, 2, 3, 4, 5`,
      ),
      expectedBreakdowns: await q(
        `SELECT grain, d.dimension, date_trunc(grain, window_start, 'UTC') AS bucket_start,
                COALESCE(customer_id, '') AS customer_id, e.key AS name,
                sum((e.value->>'calls')::bigint) AS calls,
                sum((e.value->>'tokens')::bigint) AS tokens
         FROM aggregation_windows
         CROSS JOIN (VALUES ('endpoint', 'byEndpoint'), ('model', 'byModel')) AS d (dimension, field)
         CROSS JOIN LATERAL jsonb_each(aggregation_data -> d.field) AS e
         CROSS JOIN ${grains}
         WHERE tenant_id = $1
         GROUP BY grain, d.dimension, date_trunc(grain, window_start, 'UTC'), e.key,
                  GROUPING SETS ((customer_id), ())
         HAVING (sum((e.value->>'calls')::bigint), sum((e.value->>'tokens')::bigint)) <> (0, 0)
         ORDER BY 1, 2, 3, 4, 5`,
      ),
    };
  }

  /**
   * A flush that both inserts and updates windows fires the INSERT and the UPDATE trigger,
   * two rollup passes. Here its pass over one day waits for a deletion that holds the
   * other day's rollups and then wants the first day's: without the rollups' lock
   * (migration SerialRollupWrites) Postgres aborts one of them as a deadlock.
   */
  it('lets a flush of new and re-flushed windows and another writer of the same days both finish', async () => {
    const windows = app.get(WindowsRepository);
    const { tenant } = await app.get(TenantsService).create(`prop-${randomUUID()}`);
    const flushRow = (customerId: string, start: number, rev: number) => ({
      ref: { shard: 0, tenantId: tenant.id, customerId, windowStartMs: start },
      windowEndMs: start + WINDOW_MS,
      counters: {
        calls: 10 * rev,
        tokens: rev,
        inputTokens: 0,
        outputTokens: 0,
        latencySumMs: 0,
        latencyCount: 0,
        lateEvents: 0,
        data: { byEndpoint: { x: { calls: 10 * rev, tokens: rev } }, byModel: {} },
        rev,
      },
    });
    const [day1, day2] = [STARTS[0], STARTS[3]];
    await windows.upsertFromRedis([flushRow('c-1', day1, 1), flushRow('c-1', day2, 1)]);
    await windows.upsertFromRedis([flushRow('c-2', day2, 1)]);
    const deleteWindow = (client: PoolClient, start: number) =>
      client.query(
        'DELETE FROM aggregation_windows WHERE tenant_id = $1 AND customer_id = $2 AND window_start = $3',
        [tenant.id, 'c-1', new Date(start)],
      );

    const other = await owner.connect();
    try {
      await other.query('BEGIN');
      await deleteWindow(other, day1);
      // A new window on day 1 and a re-flush on day 2, in one statement (in key order).
      const flush = windows.upsertFromRedis([flushRow('c-2', day1, 1), flushRow('c-2', day2, 2)]);
      await eventually(async () => {
        const { rows } = await stack.pg.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'
             AND query LIKE '%INSERT INTO aggregation_windows%'`,
        );
        expect(rows[0].n).toBe(1);
      });
      await deleteWindow(other, day2);
      await other.query('COMMIT');
      await flush;
    } finally {
      other.release();
    }
    const seen = await compare(tenant.id);
    expect(seen.totals).toEqual(seen.expectedTotals);
    expect(seen.expectedTotals.length).toBeGreaterThan(0);
  });

  it('holds for random flush orders, re-flushes, recomputes and deletions, run concurrently', async () => {
    const windows = app.get(WindowsRepository);
    const tenants = app.get(TenantsService);
    let withWindows = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        async (steps) => {
          const { tenant } = await tenants.create(`prop-${randomUUID()}`);
          for (const step of steps) {
            // The ops of a step run at once, each on its own pooled connection.
            await Promise.all(step.map((o) => apply(tenant.id, o, windows)));
          }
          const seen = await compare(tenant.id);
          expect(seen.totals).toEqual(seen.expectedTotals);
          expect(seen.breakdowns).toEqual(seen.expectedBreakdowns);
          if (seen.expectedTotals.length > 0) withWindows++;
        },
      ),
      { numRuns: 60 },
    );
    // Most runs must leave windows behind, or the equality proved little.
    expect(withWindows).toBeGreaterThan(30);
  });
});
