import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant, ingest, request } from './support/api';
import { expectedWindows, round2 } from './support/expected';
import { eventually, TestStack } from './support/harness';
import { currentAndNextWindow, workload } from './support/workload';

const WINDOW_MS = 2000;

describe('events travel ingest → Redis windows → closer → Postgres', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    stack = await TestStack.create();
    app = await stack.start();
  });

  afterAll(() => stack.dispose());

  it('stores every window with exactly the totals of its events, retries counted once', async () => {
    const { tenantId, key } = await createTenant(app);
    const events = workload(300, ['c-1', 'c-2', 'c:3'], currentAndNextWindow(WINDOW_MS));
    const first = await ingest(app, key, events);
    expect(first).toMatchObject({ status: 202, body: { accepted: 300, duplicates: 0 } });
    const retry = await ingest(app, key, events);
    expect(retry).toMatchObject({ status: 202, body: { accepted: 0, duplicates: 300 } });
    const single = await ingest(app, key, { ...events[0], tenantId });
    expect(single.body).toEqual({ accepted: 0, duplicates: 1 });

    const expected = expectedWindows(events, WINDOW_MS);
    const rows = await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT * FROM aggregation_windows WHERE tenant_id = $1 ORDER BY customer_id, window_start',
        [tenantId],
      );
      expect(rows).toHaveLength(expected.size);
      return rows;
    });
    for (const row of rows) {
      const want = expected.get(`${row.customer_id}@${row.window_start.toISOString()}`)!;
      expect(want).toBeDefined();
      expect(Number(row.total_calls)).toBe(want.totalCalls);
      expect(Number(row.total_tokens)).toBe(want.totalTokens);
      expect(Number(row.total_input_tokens)).toBe(want.totalInputTokens);
      expect(Number(row.total_output_tokens)).toBe(want.totalOutputTokens);
      expect(Number(row.latency_sum_ms)).toBe(want.latencySum);
      expect(row.avg_latency_ms).toBe(round2(want.latencySum / want.latencyCount));
      expect(row.aggregation_data).toEqual({ byEndpoint: want.byEndpoint, byModel: want.byModel });
      expect(row.version).toBe(1);
      expect(Number(row.late_events)).toBe(0);
    }

    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM usage_events WHERE tenant_id = $1',
        [tenantId],
      );
      expect(rows[0]).toEqual({ n: 300, d: 300 });
    });
    const customers = await stack.pg.query(
      'SELECT external_id FROM customers WHERE tenant_id = $1 ORDER BY external_id',
      [tenantId],
    );
    expect(customers.rows.map((r) => r.external_id)).toEqual(['c-1', 'c-2', 'c:3']);
  });

  it('serves the windows of the key tenant only, filtered and paginated by cursor', async () => {
    const mine = await createTenant(app, 'mine');
    const other = await createTenant(app, 'other');
    const windows = currentAndNextWindow(WINDOW_MS);
    await ingest(app, mine.key, workload(40, ['a', 'b'], windows));
    await ingest(app, other.key, workload(10, ['a'], windows));
    const from = new Date(windows[0]).toISOString();
    const all = await eventually(async () => {
      const reply = await request(app, 'GET', `/v1/windows?from=${from}`, {
        headers: { 'x-api-key': mine.key },
      });
      expect(reply.body.data).toHaveLength(4);
      return reply.body.data as { tenantId: string; customerId: string; windowStart: string }[];
    });
    expect(new Set(all.map((w) => w.tenantId))).toEqual(new Set([mine.tenantId]));
    expect(all.map((w) => `${w.windowStart}|${w.customerId}`)).toEqual(
      all.map((w) => `${w.windowStart}|${w.customerId}`).sort(),
    );

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await request(
        app,
        'GET',
        `/v1/windows?from=${from}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        { headers: { 'x-api-key': mine.key } },
      );
      expect(page.status).toBe(200);
      seen.push(
        ...page.body.data.map(
          (w: { customerId: string; windowStart: string }) => `${w.windowStart}|${w.customerId}`,
        ),
      );
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((w) => `${w.windowStart}|${w.customerId}`));

    const onlyB = await request(app, 'GET', `/v1/windows?from=${from}&customerId=b`, {
      headers: { 'x-api-key': mine.key },
    });
    expect(onlyB.body.data.map((w: { customerId: string }) => w.customerId)).toEqual(['b', 'b']);
  });

  it('answers liveness and readiness with Postgres and Redis checked', async () => {
    expect((await request(app, 'GET', '/health/live')).status).toBe(200);
    const ready = await request(app, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.info).toMatchObject({ postgres: { status: 'up' }, redis: { status: 'up' } });
  });
});
