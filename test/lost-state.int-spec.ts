import { createTenant, ingest, request } from './support/api';
import { eventually, TestStack } from './support/harness';
import { currentAndNextWindow, workload } from './support/workload';

describe('state lost underneath the service', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({ SHARDS: '2', WINDOW_GRACE_SECONDS: '3' });
  });

  afterAll(() => stack.dispose());

  const persisted = async (tenantId: string) =>
    (
      await stack.pg.query('SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1', [
        tenantId,
      ])
    ).rows[0].n;

  it('recomputes from raw events a due window whose Redis hash is gone', async () => {
    const app = await stack.start();
    const { tenantId, key } = await createTenant(app);
    const events = workload(40, ['a', 'b'], currentAndNextWindow(2000).slice(0, 1));
    await ingest(app, key, events);
    await eventually(async () => expect(await persisted(tenantId)).toBe(40));
    // The grace (3 s) holds the closer back; the hashes vanish before it runs.
    const hashes = await stack.keys(`*:w:${tenantId}:*`);
    expect(hashes).toHaveLength(2);
    await stack.redis.del(...hashes);

    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT customer_id, total_calls, flushed_rev FROM aggregation_windows WHERE tenant_id = $1 ORDER BY customer_id',
        [tenantId],
      );
      expect(rows).toEqual([
        { customer_id: 'a', total_calls: '20', flushed_rev: '-1' },
        { customer_id: 'b', total_calls: '20', flushed_rev: '-1' },
      ]);
    });
    await stack.stop(app);
  });

  it('recreates a consumer group lost with its stream and goes on persisting', async () => {
    const app = await stack.start();
    const { tenantId, key } = await createTenant(app);
    await stack.redis.del(...(await stack.keys('*:events')));
    const events = workload(20, ['a', 'b', 'c'], currentAndNextWindow(2000));
    expect((await ingest(app, key, events)).status).toBe(202);
    await eventually(async () => expect(await persisted(tenantId)).toBe(20));
    await stack.stop(app);
  });

  it('answers an unexpected failure with 500, an error id and no internals', async () => {
    const app = await stack.start();
    const { key } = await createTenant(app);
    await stack.pg.query('DROP TABLE aggregation_windows');
    const reply = await request(app, 'GET', '/v1/windows', { headers: { 'x-api-key': key } });
    expect(reply.status).toBe(500);
    expect(reply.headers['content-type']).toMatch(/problem\+json/);
    expect(reply.body).toMatchObject({ status: 500, errorId: expect.any(String) });
    expect(reply.body.detail).toContain(reply.body.errorId);
    expect(JSON.stringify(reply.body)).not.toMatch(/aggregation_windows|relation|SELECT/i);
  });
});
