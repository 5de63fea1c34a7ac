import { WindowCloser } from '../src/windows/window-closer';
import { WindowsRepository, type FlushRow } from '../src/windows/windows.repository';
import { shardOf } from '../src/window-store/shard';
import { createTenant, event, ingest } from './support/api';
import { eventually, TestStack } from './support/harness';

const SHARDS = 2;

describe('closer lock', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // Lateness beyond the harness's 30 s: on a busy machine the five rounds can outlast it,
    // and a later round's events would then be counted from raw events by a worker this
    // test does not run, instead of by the closers it watches.
    stack = await TestStack.create({
      LOCK_TTL_MS: '2000',
      SHARDS: String(SHARDS),
      MAX_LATENESS_SECONDS: '600',
    });
  });

  afterAll(() => stack.dispose());

  it('lets one closer at a time flush a shard, holding that shard’s lock while it writes', async () => {
    // No jobs: the closers run only when the test calls them, all at once.
    const apps = await Promise.all([1, 2, 3].map(() => stack.start({ APP_ROLE: 'api' })));
    const { tenantId, key } = await createTenant(apps[0]);
    const customers = Array.from({ length: 8 }, (_, i) => `c-${i}`);
    expect(new Set(customers.map((c) => shardOf(tenantId, c, SHARDS))).size).toBe(SHARDS);

    const inside = new Array<number>(SHARDS).fill(0);
    const seen = { maxInside: 0, flushes: 0, withoutLock: 0 };
    for (const app of apps) {
      const repository = app.get(WindowsRepository);
      const upsert = repository.upsertFromRedis.bind(repository);
      repository.upsertFromRedis = async (rows: FlushRow[]) => {
        const shards = [...new Set(rows.map((r) => r.ref.shard))];
        for (const shard of shards) {
          inside[shard]++;
          seen.maxInside = Math.max(seen.maxInside, inside[shard]);
          const lock = await stack.redis.exists(`${stack.prefix}{${shard}}:lock:closer`);
          if (lock !== 1) seen.withoutLock++;
        }
        try {
          seen.flushes++;
          return await upsert(rows);
        } finally {
          for (const shard of shards) inside[shard]--;
        }
      };
    }

    // Due at once, one window per round whatever the time the rounds take.
    const due = Math.floor((Date.now() - 5000) / 2000) * 2000;
    for (let round = 0; round < 5; round++) {
      const at = new Date(due - round * 2000).toISOString();
      const events = customers.map((customerId) =>
        event({ timestamp: at, customerId, apiEndpoint: '/a' }),
      );
      expect((await ingest(apps[0], key, events)).status).toBe(202);
      await Promise.all(apps.map((app) => app.get(WindowCloser).closeAll()));
    }

    // Every window written once: one version each, the totals exact. A pass that lost its
    // lock (its TTL ran out on a loaded machine) left its shard to the next pass, as the
    // closer's timer would: passes go on until every window is in.
    await eventually(async () => {
      await Promise.all(apps.map((app) => app.get(WindowCloser).closeAll()));
      const { rows } = await stack.pg.query(
        'SELECT count(*)::int AS windows, sum(total_calls)::int AS calls, max(version) AS v FROM aggregation_windows WHERE tenant_id = $1',
        [tenantId],
      );
      expect(rows[0]).toEqual({ windows: 5 * customers.length, calls: 5 * customers.length, v: 1 });
    });
    expect(seen.flushes).toBeGreaterThanOrEqual(SHARDS);
    expect(seen.maxInside).toBe(1);
    expect(seen.withoutLock).toBe(0);
  });
});
