import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { WindowKeys } from '../src/infra/redis/redis-keys';
import { CONSUMER_GROUP } from '../src/window-store/event-stream';
import { createTenant, ingest, request } from './support/api';
import { eventually, TestStack } from './support/harness';
import { currentAndNextWindow, workload } from './support/workload';

async function scrape(app: NestFastifyApplication): Promise<string> {
  const reply = await app.inject({ method: 'GET', url: '/metrics' });
  expect(reply.statusCode).toBe(200);
  return reply.body;
}

/** The value of one series in a scrape (NaN if absent). */
function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create();
  });

  afterAll(() => stack.dispose());

  it('exposes ingest, persistence, flush, lock and HTTP series after a small load', async () => {
    const app = await stack.start();
    const { key } = await createTenant(app);
    const events = workload(30, ['a', 'b'], currentAndNextWindow(2000));
    await ingest(app, key, events);
    await ingest(app, key, events.slice(0, 5));
    await ingest(app, key, [{ bad: true }]);
    // One quota decision allowed, one denied.
    const asKey = { headers: { 'x-api-key': key } };
    // Sliding: a fixed minute starting between the two calls would let the second through
    // (it did once in CI); a sliding one still counts the first call's unit there.
    const quota = { limit: 1, period: '1h', algorithm: 'sliding' };
    expect(
      (await request(app, 'PUT', '/v1/quotas/defaults/calls', { ...asKey, body: quota })).status,
    ).toBe(200);
    const consume = { customerId: 'q-1', metric: 'calls', units: 1 };
    expect(
      (await request(app, 'POST', '/v1/quotas/consume', { ...asKey, body: consume })).status,
    ).toBe(200);
    expect(
      (await request(app, 'POST', '/v1/quotas/consume', { ...asKey, body: consume })).status,
    ).toBe(429);

    const text = await eventually(async () => {
      const reply = await app.inject({ method: 'GET', url: '/metrics' });
      expect(reply.statusCode).toBe(200);
      expect(reply.body).toMatch(/^tally_window_flushes_total\{source="redis"\} [1-9]/m);
      expect(reply.body).toMatch(/^tally_persisted_events_total 30$/m);
      // Observed when the closer lets its lock go, just after the flush the line above saw.
      expect(reply.body).toMatch(/^tally_lock_hold_seconds_count\{kind="closer"\} [1-9]/m);
      return reply.body;
    });
    expect(text).toMatch(/^tally_events_total\{outcome="accepted"\} 30$/m);
    expect(text).toMatch(/^tally_events_total\{outcome="duplicate"\} 5$/m);
    expect(text).toMatch(/^tally_events_total\{outcome="rejected"\} 1$/m);
    expect(text).toMatch(/^tally_lock_attempts_total\{kind="closer",outcome="acquired"\} [1-9]/m);
    expect(text).toMatch(/^tally_ingest_batch_events_count [1-9]/m);
    expect(text).toMatch(/^tally_stream_backlog_entries \d+$/m);
    expect(text).toMatch(/^tally_quota_decisions_total\{kind="consume",outcome="allowed"\} 1$/m);
    expect(text).toMatch(/^tally_quota_decisions_total\{kind="consume",outcome="denied"\} 1$/m);
    expect(text).toMatch(
      /^tally_quota_decisions_total\{kind="consume",outcome="failure_open"\} 0$/m,
    );
    // The key's own budgets: three ingests and two consumes spend events, the PUT requests.
    expect(text).toMatch(
      /^tally_quota_decisions_total\{kind="api_key_events",outcome="allowed"\} 5$/m,
    );
    expect(text).toMatch(
      /^tally_quota_decisions_total\{kind="api_key_requests",outcome="allowed"\} 1$/m,
    );
    expect(text).toMatch(/^tally_db_pool_clients\{pool="app"\} [1-4]$/m);
    expect(text).toMatch(/^tally_db_pool_idle_clients\{pool="app"\} [0-4]$/m);
    expect(text).toMatch(/^tally_db_pool_waiting_requests\{pool="app"\} \d+$/m);
    expect(text).toMatch(/^tally_db_pool_max_clients\{pool="app"\} 4$/m);
    // Everything was persisted: nothing left unread or unacknowledged.
    await eventually(async () => {
      const now = await scrape(app);
      expect(value(now, 'tally_stream_consumer_lag_entries')).toBe(0);
      expect(value(now, 'tally_stream_pending_entries')).toBe(0);
    });
    expect(text).toMatch(
      /^tally_http_request_duration_seconds_count\{method="POST",route="\/v1\/events",status="202"\} 2$/m,
    );
    expect((await request(app, 'GET', '/health/live')).status).toBe(200);
  });
});

describe('/metrics consumer lag', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({ SHARDS: '2' });
  });

  afterAll(() => stack.dispose());

  it('counts entries the group has not read, and those read but not acknowledged', async () => {
    // No worker on this instance: the group exists, nobody reads from it but this test.
    const layout = new WindowKeys(stack.prefix, 2);
    for (const shard of [0, 1]) {
      await stack.redis.xgroup('CREATE', layout.stream(shard), CONSUMER_GROUP, '0', 'MKSTREAM');
    }
    const app = await stack.start({ APP_ROLE: 'api' });
    const { key } = await createTenant(app);
    for (let i = 0; i < 3; i++) {
      const reply = await ingest(
        app,
        key,
        workload(20, ['a', 'b', 'c', 'd'], currentAndNextWindow(2000)),
      );
      expect(reply.status).toBe(202);
    }
    const entries =
      (await stack.redis.xlen(layout.stream(0))) + (await stack.redis.xlen(layout.stream(1)));
    expect(entries).toBeGreaterThan(1);

    await eventually(async () => {
      const text = await scrape(app);
      expect(value(text, 'tally_stream_backlog_entries')).toBe(entries);
      expect(value(text, 'tally_stream_consumer_lag_entries')).toBe(entries);
      expect(value(text, 'tally_stream_pending_entries')).toBe(0);
    });

    const stream =
      (await stack.redis.xlen(layout.stream(0))) > 0 ? layout.stream(0) : layout.stream(1);
    await stack.redis.xreadgroup(
      'GROUP',
      CONSUMER_GROUP,
      'test-reader',
      'COUNT',
      1,
      'STREAMS',
      stream,
      '>',
    );
    await eventually(async () => {
      const text = await scrape(app);
      expect(value(text, 'tally_stream_consumer_lag_entries')).toBe(entries - 1);
      expect(value(text, 'tally_stream_pending_entries')).toBe(1);
    });
  });
});
