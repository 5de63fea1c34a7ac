import { createTenant, ingest, request } from './support/api';
import { eventually, TestStack } from './support/harness';
import { currentAndNextWindow, workload } from './support/workload';

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

    const text = await eventually(async () => {
      const reply = await app.inject({ method: 'GET', url: '/metrics' });
      expect(reply.statusCode).toBe(200);
      expect(reply.body).toMatch(/^tally_window_flushes_total\{source="redis"\} [1-9]/m);
      expect(reply.body).toMatch(/^tally_persisted_events_total 30$/m);
      return reply.body;
    });
    expect(text).toMatch(/^tally_events_total\{outcome="accepted"\} 30$/m);
    expect(text).toMatch(/^tally_events_total\{outcome="duplicate"\} 5$/m);
    expect(text).toMatch(/^tally_events_total\{outcome="rejected"\} 1$/m);
    expect(text).toMatch(/^tally_lock_attempts_total\{kind="closer",outcome="acquired"\} [1-9]/m);
    expect(text).toMatch(/^tally_lock_hold_seconds_count\{kind="closer"\} [1-9]/m);
    expect(text).toMatch(/^tally_ingest_batch_events_count [1-9]/m);
    expect(text).toMatch(/^tally_stream_backlog_entries \d+$/m);
    expect(text).toMatch(
      /^tally_http_request_duration_seconds_count\{method="POST",route="\/v1\/events",status="202"\} 2$/m,
    );
    expect((await request(app, 'GET', '/health/live')).status).toBe(200);
  });
});
