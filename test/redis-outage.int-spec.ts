import { Metrics } from '../src/infra/metrics/metrics';
import { createTenant, event, ingest, request } from './support/api';
import { eventually, TestStack } from './support/harness';
import { ThrowawayRedis } from './support/throwaway';

describe('Redis outage and back-pressure', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;

  beforeAll(async () => {
    // A throwaway Redis of this test's own, so killing it harms nobody else.
    redis = await ThrowawayRedis.start({ appendOnly: true });
    stack = await TestStack.create({ REDIS_URL: redis.url });
  });

  afterAll(async () => {
    await stack.dispose().catch(() => undefined);
    await redis.dispose();
  });

  const now = () =>
    event({ timestamp: new Date().toISOString(), customerId: 'c', apiEndpoint: '/a' });

  it('answers 503 with Retry-After when the stream backlog is above the high-water mark', async () => {
    const limited = await stack.start({ APP_ROLE: 'api', STREAM_HIGH_WATER: '2' });
    const { key } = await createTenant(limited);
    const send = () => ingest(limited, key, now());
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(202);
    const refused = await eventually(async () => {
      const reply = await send();
      expect(reply.status).toBe(503);
      return reply;
    });
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.headers['content-type']).toMatch(/problem\+json/);
    await stack.stop(limited);
  });

  it('with the spool off: answers 503 with Retry-After, never a silent drop, and reports not ready', async () => {
    const app = await stack.start({ APP_ROLE: 'api', SPOOL_ENABLED: 'false' });
    const { key } = await createTenant(app);
    await redis.kill();
    try {
      const reply = await ingest(app, key, now());
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('1');
      expect(reply.body).toMatchObject({ status: 503, code: 'unavailable' });
      const ready = await request(app, 'GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.detail).toMatch(/^Not ready: redis: no connection \(\w+\); spool off\.$/);
    } finally {
      await redis.restart();
      await stack.stop(app);
    }
  });

  it('with the spool: acknowledges into it, stays ready saying so, and counts each event once when Redis is back', async () => {
    const app = await stack.start();
    const { tenantId, key } = await createTenant(app);
    await redis.kill();
    const sent = now();
    let first;
    try {
      first = await ingest(app, key, sent);
      // A retry of the same event: its duplicate is found only at replay.
      const retry = await ingest(app, key, sent);
      expect(retry).toMatchObject({
        status: 202,
        body: { accepted: 1, duplicates: 0, spooled: 1 },
      });
      const ready = await request(app, 'GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('degraded');
      expect(ready.body.details).toMatchObject({
        postgres: { status: 'up' },
        redis: { status: 'degraded', ingestion: 'spooling' },
        spool: { status: 'degraded', state: 'holding' },
      });
      expect(ready.body.details.spool.bytes).toBeGreaterThan(0);
      // Down for seconds, as an outage is: back within ~0.3 s, Redis would leave the
      // commands in flight at the crash pending for good (test/faults/spool-full.int-spec.ts).
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      await redis.restart();
    }
    expect(first).toMatchObject({ status: 202, body: { accepted: 1, duplicates: 0, spooled: 1 } });

    await eventually(async () => {
      const stored = await stack.pg.query(
        'SELECT event_id FROM usage_events WHERE tenant_id = $1',
        [tenantId],
      );
      expect(stored.rows).toEqual([{ event_id: sent.eventId }]);
      const windows = await stack.pg.query(
        'SELECT sum(total_calls)::int AS calls FROM aggregation_windows WHERE tenant_id = $1',
        [tenantId],
      );
      expect(windows.rows[0].calls).toBe(1);
    }, 30_000);
    const ready = await request(app, 'GET', '/health/ready');
    expect(ready).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(ready.body.details.spool).toMatchObject({ status: 'up', state: 'empty', bytes: 0 });
    const { values } = await app.get(Metrics).replayedEvents.get();
    const replayed = Object.fromEntries(values.map((v) => [v.labels.outcome, v.value]));
    expect(replayed).toMatchObject({ duplicate: 1 });
    expect(replayed.counted + replayed.late).toBe(1);
  });
});
