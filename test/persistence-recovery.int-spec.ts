import { randomUUID } from 'node:crypto';
import { createTenant, ingest } from './support/api';
import { eventually, TestStack } from './support/harness';
import { currentAndNextWindow, workload } from './support/workload';

describe('persistence worker recovery', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({ SHARDS: '2' });
  });

  afterAll(() => stack.dispose());

  const streams = () => [0, 1].map((shard) => `${stack.prefix}{${shard}}:events`);

  /** Waits until Postgres holds `count` events of the tenant, each once, and the streams are empty. */
  const expectStored = async (tenantId: string, count: number) => {
    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids FROM usage_events WHERE tenant_id = $1',
        [tenantId],
      );
      expect(rows[0]).toEqual({ n: count, ids: count });
    });
    await eventually(async () => {
      for (const stream of streams()) expect(await stack.redis.xlen(stream)).toBe(0);
    });
  };

  it('takes over the entries a dead consumer read and never acknowledged', async () => {
    const api = await stack.start({ APP_ROLE: 'api' });
    const { tenantId, key } = await createTenant(api);
    for (const stream of streams()) {
      await stack.redis.xgroup('CREATE', stream, 'persist', '0', 'MKSTREAM');
    }
    const events = workload(120, ['a', 'b', 'c', 'd'], currentAndNextWindow(2000));
    expect((await ingest(api, key, events)).body.accepted).toBe(120);

    // A consumer that reads everything, then dies before writing or acknowledging.
    for (const stream of streams()) {
      await stack.redis.xreadgroup(
        'GROUP',
        'persist',
        'ghost',
        'COUNT',
        100,
        'STREAMS',
        stream,
        '>',
      );
    }
    const pending = await Promise.all(streams().map((s) => stack.redis.xpending(s, 'persist')));
    expect(pending.reduce((sum, p) => sum + Number(p[0]), 0)).toBeGreaterThan(0);

    await stack.start({ APP_ROLE: 'worker', PERSIST_CLAIM_IDLE_MS: '300' });
    await expectStored(tenantId, 120);
  });

  it('stores an entry redelivered after its commit once: the batch is written again skipping it', async () => {
    const app = await stack.start();
    const { tenantId, key } = await createTenant(app);
    const events = workload(40, ['e', 'f'], currentAndNextWindow(2000));
    // As if an earlier delivery had committed these rows and died before acknowledging.
    for (const e of events.slice(0, 5)) {
      await stack.pg.query(
        `INSERT INTO usage_events (event_id, tenant_id, customer_id, ts, endpoint)
         VALUES ($1, $2, $3, $4, $5)`,
        [e.eventId, tenantId, e.customerId, e.timestamp, e.apiEndpoint],
      );
    }
    expect((await ingest(app, key, events)).body.accepted).toBe(40);
    await expectStored(tenantId, 40);
  });

  it('skips a stream entry Postgres cannot read; the events around it are stored', async () => {
    const app = await stack.start({ PERSIST_IDLE_DELAY_MS: '1000' });
    const { tenantId, key } = await createTenant(app);
    // Written only by a bug; the worker must not let it hold back the events beside it.
    await stack.redis.xadd(streams()[0], '*', 'e', '[{"i":"broken",');
    expect(
      (await ingest(app, key, workload(30, ['g', 'h'], currentAndNextWindow(2000)))).body.accepted,
    ).toBe(30);
    await expectStored(tenantId, 30);
  });

  it('opens no persistence connection on an APP_ROLE=api instance', async () => {
    const [api, worker] = ['api', 'worker'].map((role) => `${role}-${randomUUID().slice(0, 8)}`);
    await stack.start({ APP_ROLE: 'api', INSTANCE_ID: api });
    await stack.start({ APP_ROLE: 'worker', INSTANCE_ID: worker });
    const names = (await stack.redis.client('LIST')) as string;
    expect(names).toContain(`name=tally:${api}:commands`);
    expect(names).not.toContain(`name=tally:${api}:persistence`);
    await eventually(async () => {
      expect((await stack.redis.client('LIST')) as string).toContain(
        `name=tally:${worker}:persistence`,
      );
    });
  });
});
