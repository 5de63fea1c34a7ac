import { Redis } from 'ioredis';
import { createTenant, ingest } from './support/api';
import { expectedWindows } from './support/expected';
import { eventually, TestStack } from './support/harness';
import { currentAndNextWindow, workload } from './support/workload';

const WINDOW_MS = 2000;

describe('two instances on one Redis and one Postgres', () => {
  let stack: TestStack;
  let subscriber: Redis;

  beforeAll(async () => {
    // The reply accounting below (each event accepted by exactly one of the pair) is what
    // this test is about; on a machine loaded to several times its cores a 1 s command
    // timeout turned slow scripts into 503s (correct, but another test's subject).
    stack = await TestStack.create({ SHARDS: '4', REDIS_COMMAND_TIMEOUT_MS: '10000' });
    subscriber = new Redis(stack.env.REDIS_URL!);
  });

  afterAll(async () => {
    await subscriber.quit();
    await stack.dispose();
  });

  it('count the same customer concurrently to exact totals, each window flushed once', async () => {
    const a = await stack.start();
    const b = await stack.start();
    const { tenantId, key } = await createTenant(a);
    const closed: string[] = [];
    await subscriber.subscribe(`${stack.prefix}live:${tenantId}:updates`);
    subscriber.on('message', (_channel, message: string) => {
      const events = JSON.parse(message) as {
        type: string;
        data: { customerId: string; windowStart: string };
      }[];
      for (const { type, data } of events) {
        if (type === 'window.closed') closed.push(`${data.customerId}@${data.windowStart}`);
      }
    });

    const events = workload(2000, ['hot', 'warm'], currentAndNextWindow(WINDOW_MS));
    const requests = [];
    for (let i = 0; i < events.length; i += 50) {
      const chunk = events.slice(i, i + 50);
      // Every chunk goes to both instances at once: one of each pair is all duplicates.
      requests.push(ingest(a, key, chunk), ingest(b, key, chunk));
    }
    const replies = await Promise.all(requests);
    expect(replies.every((r) => r.status === 202)).toBe(true);
    const accepted = replies.reduce((sum, r) => sum + r.body.accepted, 0);
    const duplicates = replies.reduce((sum, r) => sum + r.body.duplicates, 0);
    expect({ accepted, duplicates }).toEqual({ accepted: 2000, duplicates: 2000 });

    const expected = expectedWindows(events, WINDOW_MS);
    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT * FROM aggregation_windows WHERE tenant_id = $1',
        [tenantId],
      );
      expect(rows).toHaveLength(expected.size);
      for (const row of rows) {
        const want = expected.get(`${row.customer_id}@${row.window_start.toISOString()}`)!;
        expect(Number(row.total_calls)).toBe(want.totalCalls);
        expect(Number(row.total_tokens)).toBe(want.totalTokens);
        expect(row.aggregation_data.byModel).toEqual(want.byModel);
        expect(row.version).toBe(1);
      }
    });
    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1',
        [tenantId],
      );
      expect(rows[0].n).toBe(2000);
    });
    expect(closed.sort()).toEqual([...expected.keys()].sort());
  });
});
