import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createRedis } from '../../src/infra/redis/redis.module';
import { Metrics } from '../../src/infra/metrics/metrics';
import { RedisEpoch } from '../../src/redis-epoch';
import { RedisEpochRepository } from '../../src/redis-epoch/redis-epoch.repository';
import { createTenant, event, type EventInput, ingest } from '../support/api';
import { dropTwice } from '../support/drop-twice';
import { eventually, TestStack } from '../support/harness';
import { checkLedger, type Ledger, Producers, reportFault } from '../support/ledger';
import { ThrowawayRedis } from '../support/throwaway';

const WINDOW_MS = 2000;
const SHARDS = 4;
/**
 * A future skew of 1 s keeps the windows a loss hands to Postgres to the few seconds after
 * it, so the test also sees windows that start after the loss flushed from Redis as usual.
 */
const ENV = { SHARDS: String(SHARDS), INGEST_MAX_FUTURE_SKEW_SECONDS: '1' };
const LOSS_METRIC = 'tally_redis_data_loss_total';

interface EpochRow {
  losses: number;
  recovery_requested: number;
  recovery_done: number;
  owned_before: Date | null;
  recovered_windows: number | null;
  recovered_at: Date | null;
}

/** How the data goes: both return the event ids the streams held at that instant. */
type Loss = (redis: ThrowawayRedis, prefix: string) => Promise<Set<string>>;

/**
 * A restart without persistence (or a failover to an empty replica). CLIENT PAUSE WRITE
 * freezes every write, scripts included, while reads go on: the streams read then are
 * exactly what the kill takes with it.
 */
const wipe: Loss = async (redis, prefix) => {
  const client = quietClient(redis.url);
  try {
    await client.call('CLIENT', 'PAUSE', '30000', 'WRITE');
    const held = await streamed(client.multi(), prefix);
    await redis.wipe();
    return held;
  } finally {
    client.disconnect();
  }
};

/** FLUSHALL on the live server, in one transaction with the read of the streams. */
const flushAll: Loss = async (redis, prefix) => {
  const client = quietClient(redis.url);
  try {
    return await streamed(client.multi(), prefix, (tx) => tx.flushall());
  } finally {
    client.disconnect();
  }
};

describe.each([
  ['Redis restarted without its data', wipe],
  ['Redis FLUSHALL on the live server', flushAll],
])('fault: %s, under load on two instances', (fault, loss) => {
  let redis: ThrowawayRedis;
  let stack: TestStack;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
    stack = await TestStack.create({ REDIS_URL: redis.url, ...ENV });
  });

  afterAll(async () => {
    await stack.dispose();
    await redis.dispose();
  });

  it('detects it on every instance, recomputes the windows it touched, late events included', async () => {
    const apps = [await stack.start(), await stack.start()];
    const { tenantId, key } = await createTenant(apps[0]);
    let turn = 0;
    const producers = new Producers((events) => ingest(apps[turn++ % apps.length], key, events), {
      customers: ['a', 'b', 'c', 'd', 'e'],
    });
    producers.start();
    // Long enough for windows to be flushed from Redis before the loss.
    await eventually(async () => expect((await flushedWindows(stack, tenantId)).length).toBe(3));
    const flushedBefore = await flushedWindows(stack, tenantId);
    const acknowledgedBefore = [...producers.ledger.acknowledged.values()];

    const heldByStreams = await loss(redis, stack.prefix);
    const lostAt = Date.now();
    const detectedAfterMs = await Promise.all(apps.map((app) => detection(app, lostAt)));
    await sleep(2000);

    // The defect: late events for windows flushed before the loss, into a fresh hash
    // whose revision starts below the stored one; and producer retries of events
    // acknowledged before it, which the lost dedup sets no longer know.
    const late = flushedBefore.flatMap((w) =>
      Array.from({ length: 5 }, (_, i) =>
        event({
          timestamp: new Date(w.window_start.getTime() + 100 + i).toISOString(),
          customerId: w.customer_id,
          apiEndpoint: '/v1/late',
          metadata: { inputTokens: 7, outputTokens: 3, latencyMs: 20 },
        }),
      ),
    );
    await send(producers.ledger, apps[0], key, late);
    await send(producers.ledger, apps[1], key, acknowledgedBefore.slice(0, 40));
    // The load goes on into a window past the loss's reach (its end depends on when the
    // loss was detected), to show such windows are Redis's again.
    const { owned_before: reach } = await epoch(stack);
    await sleep(Math.max(1000, reach!.getTime() + WINDOW_MS / 2 - Date.now()));
    const ledger = await producers.stop();
    const loadMs = Date.now() - lostAt;

    const check = await eventually(async () => {
      const result = await checkLedger(stack.pg, tenantId, ledger, WINDOW_MS);
      expect(result).toMatchObject({ doubleCounted: 0, wrongWindows: 0 });
      expect(result.counted).toBe(result.stored);
      await expectRecovered(stack);
      return result;
    }, 60_000);
    const recoveryMs = Date.now() - lostAt;

    // Lost by design: acknowledged, then gone with the streams before the worker stored
    // them. Only what the streams held at the loss can be among them.
    const stored = await storedIds(stack, tenantId);
    const lost = [...ledger.acknowledged.keys()].filter((id) => !stored.has(id));
    expect(lost).toHaveLength(check.lost);
    expect(lost.filter((id) => !heldByStreams.has(id))).toEqual([]);

    for (const w of flushedBefore) {
      const now = await windowRow(stack, tenantId, w.customer_id, w.window_start);
      expect(now.flushed_rev).toBe('-1');
      expect(now.aggregation_data.byEndpoint['/v1/late']).toEqual({ calls: 5, tokens: 50 });
    }
    // Windows that start after the loss's reach are Redis's again: flushed, not fenced.
    const { rows: fresh } = await stack.pg.query<{ flushed_rev: string }>(
      'SELECT flushed_rev FROM aggregation_windows WHERE tenant_id = $1 AND window_start >= $2',
      [tenantId, reach],
    );
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.every((w) => Number(w.flushed_rev) > 0)).toBe(true);

    const { recovered_windows, recovered_at } = await epoch(stack);
    console.log(
      `${fault}: detected after ${detectedAfterMs.join(' / ')} ms; recovery recorded done ` +
        `${recovered_at!.getTime() - lostAt} ms after the loss, ${recovered_windows} windows ` +
        `recomputed by it; windows exact ${recoveryMs} ms after the loss (load went on for ` +
        `${loadMs} ms after it); streams held ${heldByStreams.size} events, ${check.lost} of them lost`,
    );
    reportFault({
      fault,
      ...check,
      requests: ledger.requests,
      serverErrors: ledger.serverErrors,
      unavailable: ledger.unavailable,
      noAnswer: ledger.noAnswer,
      recoveryMs,
    });
    expect(ledger.serverErrors).toBe(0);
    expect(check.acknowledged).toBeGreaterThan(0);
  }, 120_000);
});

describe('fault: Redis lost its data while no instance ran', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
    stack = await TestStack.create({ REDIS_URL: redis.url, ...ENV });
  });

  afterAll(async () => {
    await stack.dispose();
    await redis.dispose();
  });

  it('records the first epoch without a recovery, and a later start finds the loss in Postgres', async () => {
    const first = await stack.start();
    expect(await lossesSeen(first)).toBe(0);
    expect(await epoch(stack)).toMatchObject({ losses: 0, recovery_requested: 0 });
    const { tenantId, key } = await createTenant(first);
    const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const at = (i: number) => new Date(windowStart + (i % WINDOW_MS)).toISOString();
    const before = Array.from({ length: 10 }, (_, i) =>
      event({ timestamp: at(i), customerId: 'a', apiEndpoint: '/x' }),
    );
    expect((await ingest(first, key, before)).status).toBe(202);
    await eventually(async () => {
      const row = await windowRow(stack, tenantId, 'a', new Date(windowStart));
      expect(row).toMatchObject({ total_calls: '10', flushed_rev: '1' });
    });
    await stack.stop(first);

    await redis.wipe();
    const second = await stack.start();
    expect(await lossesSeen(second)).toBe(1);
    expect((await epoch(stack)).losses).toBe(1);

    const late = Array.from({ length: 4 }, (_, i) =>
      event({ timestamp: at(100 + i), customerId: 'a', apiEndpoint: '/x' }),
    );
    const retried = before.slice(0, 3);
    expect((await ingest(second, key, [...late, ...retried])).status).toBe(202);
    await eventually(async () => {
      const row = await windowRow(stack, tenantId, 'a', new Date(windowStart));
      expect(row).toMatchObject({ total_calls: '14', flushed_rev: '-1' });
      await expectRecovered(stack);
    }, 30_000);
    expect((await storedIds(stack, tenantId)).size).toBe(14);
  });
});

describe('two instances reading the marker before a concurrent change', () => {
  let stack: TestStack;
  let first: NestFastifyApplication | undefined;
  let second: NestFastifyApplication;

  beforeAll(async () => {
    // Only the checks the tests call: the interleaving below is theirs alone.
    stack = await TestStack.create({ ...ENV, REDIS_EPOCH_CHECK_MS: '60000' });
  });

  afterAll(() => stack.dispose());

  /** Runs `before` when the next instance to look at the row has read the marker already. */
  async function betweenMarkerAndRow<T>(before: () => Promise<unknown>, run: () => Promise<T>) {
    const current = RedisEpochRepository.prototype.current;
    const spy = jest
      .spyOn(RedisEpochRepository.prototype, 'current')
      .mockImplementationOnce(async function (this: RedisEpochRepository) {
        await before();
        return current.call(this);
      });
    try {
      return await run();
    } finally {
      spy.mockRestore();
    }
  }

  it('is no loss when the first epoch is recorded between an instance’s two reads', async () => {
    // The second instance reads no marker; the first starts whole, claims the marker and
    // records it; then the second reads that record. Redis held the recorded epoch all along.
    second = await betweenMarkerAndRow(
      async () => (first = await stack.start()),
      () => stack.start(),
    );
    expect(await epoch(stack)).toMatchObject({ losses: 0, owned_before: null });
    for (const app of [first!, second]) {
      expect(await lossesSeen(app)).toBe(0);
      expect(app.get(RedisEpoch).ownedBeforeMs()).toBeNull();
    }
  });

  it('is one loss when the other instance records it between an instance’s two reads', async () => {
    await stack.redis.del(`${stack.prefix}epoch`);
    await betweenMarkerAndRow(
      () => first!.get(RedisEpoch).check(),
      () => second.get(RedisEpoch).check(),
    );
    expect(await epoch(stack)).toMatchObject({ losses: 1, recovery_requested: 1 });
    for (const app of [first!, second]) expect(await lossesSeen(app)).toBe(1);
  });
});

describe('a command in flight when Redis restarts', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
    stack = await TestStack.create({ REDIS_URL: redis.url });
  });

  afterAll(async () => {
    await stack.dispose();
    await redis.dispose();
  });

  it('is rejected, not left waiting forever, once the connection is back', async () => {
    const client = createRedis(stack.config(), 'in-flight');
    const pauser = quietClient(redis.url);
    try {
      await client.ping();
      await pauser.call('CLIENT', 'PAUSE', '30000', 'WRITE');
      const inFlight = client.set('k', 'v').then(
        () => 'answered',
        (error: Error) => error.message,
      );
      await sleep(100);
      await redis.wipe();
      // Unref'd: once the command is answered, the timer must not hold the test run open.
      const outcome = await Promise.race([
        inFlight,
        sleep(10_000, 'still waiting', { ref: false }),
      ]);
      expect(outcome).toBe('Command aborted due to connection close');
      expect(await client.ping()).toBe('PONG');
    } finally {
      pauser.disconnect();
      client.disconnect();
    }
  });

  it('that nobody waits for is rejected without an unhandled rejection (it would end the process)', async () => {
    const client = createRedis(stack.config(), 'resubscribe');
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', note);
    try {
      await client.subscribe('probe');
      // ioredis's SUBSCRIBE again after the first reconnect is the command nobody waits for.
      await dropTwice(client);
      expect(await client.ping()).toBe('PONG');
      await sleep(100);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', note);
      client.disconnect();
    }
  });
});

/** Event ids in the shard streams, read in `tx` before whatever `then` adds to it. */
async function streamed(
  tx: ReturnType<Redis['multi']>,
  prefix: string,
  then: (tx: ReturnType<Redis['multi']>) => unknown = () => undefined,
): Promise<Set<string>> {
  for (let shard = 0; shard < SHARDS; shard++) tx.xrange(`${prefix}{${shard}}:events`, '-', '+');
  then(tx);
  const replies = (await tx.exec()) ?? [];
  const ids = new Set<string>();
  for (const [error, entries] of replies.slice(0, SHARDS)) {
    if (error) throw error;
    for (const [, fields] of entries as [string, string[]][]) {
      const events = JSON.parse(fields[fields.indexOf('e') + 1]) as { i: string }[];
      events.forEach((e) => ids.add(e.i));
    }
  }
  return ids;
}

/** Milliseconds from the loss until this instance counted it. */
async function detection(app: NestFastifyApplication, lostAt: number): Promise<number> {
  await eventually(async () => expect(await lossesSeen(app)).toBe(1), 10_000);
  const ms = Date.now() - lostAt;
  expect(ms).toBeLessThan(5000);
  return ms;
}

async function lossesSeen(app: NestFastifyApplication): Promise<number> {
  const metric = app.get(Metrics).registry.getSingleMetric(LOSS_METRIC);
  if (!metric) throw new Error(`${LOSS_METRIC} is not exported`);
  const { values } = await metric.get();
  return values[0]?.value ?? 0;
}

/** Sends events as a producer does (retrying 503s) and writes the answers in the ledger. */
async function send(
  ledger: Ledger,
  app: NestFastifyApplication,
  key: string,
  events: EventInput[],
): Promise<void> {
  for (const e of events) ledger.sent.set(e.eventId!, e);
  for (let attempt = 0; attempt < 50; attempt++) {
    const reply = await ingest(app, key, events);
    ledger.record(events, reply);
    if (reply.status !== 503) {
      expect(reply.status).toBe(202);
      return;
    }
    await sleep(200);
  }
  throw new Error('the late events were never accepted');
}

async function flushedWindows(stack: TestStack, tenantId: string) {
  const { rows } = await stack.pg.query<{
    customer_id: string;
    window_start: Date;
    total_calls: string;
  }>(
    `SELECT customer_id, window_start, total_calls FROM aggregation_windows
     WHERE tenant_id = $1 AND flushed_rev > 0 ORDER BY window_start, customer_id LIMIT 3`,
    [tenantId],
  );
  return rows;
}

async function windowRow(stack: TestStack, tenantId: string, customerId: string, start: Date) {
  const { rows } = await stack.pg.query<{
    total_calls: string;
    flushed_rev: string;
    aggregation_data: { byEndpoint: Record<string, { calls: number; tokens: number }> };
  }>(
    `SELECT total_calls, flushed_rev, aggregation_data FROM aggregation_windows
     WHERE tenant_id = $1 AND customer_id = $2 AND window_start = $3`,
    [tenantId, customerId, start],
  );
  return rows[0];
}

async function epoch(stack: TestStack): Promise<EpochRow> {
  const { rows } = await stack.pg.query<EpochRow>('SELECT * FROM redis_epoch');
  return rows[0];
}

/** One loss recorded, and every recovery it asked for done. */
async function expectRecovered(stack: TestStack): Promise<void> {
  const row = await epoch(stack);
  expect(row.losses).toBe(1);
  expect(row.recovery_requested).toBeGreaterThan(0);
  expect(row.recovery_done).toBe(row.recovery_requested);
}

async function storedIds(stack: TestStack, tenantId: string): Promise<Set<string>> {
  const { rows } = await stack.pg.query<{ event_id: string }>(
    'SELECT event_id FROM usage_events WHERE tenant_id = $1',
    [tenantId],
  );
  return new Set(rows.map((r) => r.event_id));
}

function quietClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return client;
}
