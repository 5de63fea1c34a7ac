import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant, event, ingest } from './support/api';
import { eventually, TestStack } from './support/harness';

const WINDOW_MS = 2000;

describe('late events', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    stack = await TestStack.create({ MAX_LATENESS_SECONDS: '3', DEDUP_TTL_SECONDS: '60' });
    app = await stack.start();
  });

  afterAll(() => stack.dispose());

  const windowRow = async (tenantId: string, startMs: number) => {
    const { rows } = await stack.pg.query(
      'SELECT * FROM aggregation_windows WHERE tenant_id = $1 AND window_start = $2',
      [tenantId, new Date(startMs)],
    );
    return rows[0];
  };
  const lateCounted = async (horizon: 'within' | 'beyond') => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const line = new RegExp(`^tally_late_events_total\\{horizon="${horizon}"\\} (\\d+)$`, 'm');
    return Number(line.exec(text)?.[1] ?? 0);
  };

  it('within max lateness: the flushed window is flushed again with version + 1', async () => {
    const { tenantId, key } = await createTenant(app);
    const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const at = new Date(start + 100).toISOString();
    const onTime = event({
      timestamp: at,
      customerId: 'c',
      apiEndpoint: '/a',
      metadata: { tokens: 10 },
    });
    await ingest(app, key, onTime);
    await eventually(async () => expect((await windowRow(tenantId, start))?.version).toBe(1));

    const late = event({
      timestamp: at,
      customerId: 'c',
      apiEndpoint: '/a',
      metadata: { tokens: 5 },
    });
    const lateBefore = await lateCounted('within');
    expect((await ingest(app, key, [late, onTime])).body).toEqual({ accepted: 1, duplicates: 1 });
    expect(await lateCounted('within')).toBe(lateBefore + 1);
    await eventually(async () => {
      const row = await windowRow(tenantId, start);
      expect(row.version).toBe(2);
      expect(Number(row.total_calls)).toBe(2);
      expect(Number(row.total_tokens)).toBe(15);
      expect(Number(row.late_events)).toBe(1);
    });
  });

  it('beyond max lateness: stored raw, the window recomputed from Postgres, duplicates not counted', async () => {
    const { tenantId, key } = await createTenant(app);
    const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const at = new Date(start + 100).toISOString();
    const first = event({
      timestamp: at,
      customerId: 'c',
      apiEndpoint: '/a',
      metadata: { tokens: 10, model: 'm' },
    });
    await ingest(app, key, first);
    await eventually(async () => expect((await windowRow(tenantId, start))?.version).toBe(1));
    // Past end + max lateness (3 s): Redis no longer owns the window.
    await new Promise((resolve) => setTimeout(resolve, start + WINDOW_MS + 3500 - Date.now()));

    const tooLate = event({
      timestamp: at,
      customerId: 'c',
      apiEndpoint: '/b',
      metadata: { tokens: 7 },
    });
    const beyondBefore = await lateCounted('beyond');
    expect((await ingest(app, key, [tooLate, first])).status).toBe(202);
    // Redis no longer dedups there: both count as accepted; Postgres keeps one `first`.
    expect(await lateCounted('beyond')).toBe(beyondBefore + 2);
    await eventually(async () => {
      const row = await windowRow(tenantId, start);
      expect(Number(row.total_calls)).toBe(2);
      expect(Number(row.total_tokens)).toBe(17);
      expect(row.aggregation_data).toEqual({
        byEndpoint: { '/a': { calls: 1, tokens: 10 }, '/b': { calls: 1, tokens: 7 } },
        byModel: { m: { calls: 1, tokens: 10 } },
      });
      expect(Number(row.late_events)).toBe(1);
      expect(Number(row.flushed_rev)).toBe(-1);
    });
    const { rows } = await stack.pg.query(
      'SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1',
      [tenantId],
    );
    expect(rows[0].n).toBe(2);
    await eventually(async () => {
      for (const index of await stack.keys('*:recompute')) {
        expect(await stack.redis.zcard(index)).toBe(0);
      }
    });
  });
});
