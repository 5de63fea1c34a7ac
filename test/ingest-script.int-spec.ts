import type { Redis } from 'ioredis';
import { WindowKeys } from '../src/infra/redis/redis-keys';
import { REDIS } from '../src/infra/redis/redis.tokens';
import { IngestArgumentError } from '../src/window-store/ingest-failure';
import { IngestScript } from '../src/window-store/ingest-script';
import { IngestOutcome, type MeteringEvent } from '../src/window-store/metering-event';
import { countersFromHash } from '../src/window-store/window-hash';
import { windowStartOf } from '../src/window-store/window-math';
import { TestStack } from './support/harness';
import { ThrowawayRedis } from './support/throwaway';

const WINDOW_MS = 2000;

/**
 * Several shards' calls in one write (IngestScript.runAll, the batcher's path): each
 * settles on its own, as a call alone would, on a Redis of the test's own whose script
 * cache it can flush.
 */
describe('ingest calls of several shards in one write', () => {
  let server: ThrowawayRedis;
  let stack: TestStack;
  let redis: Redis;
  let script: IngestScript;
  let layout: WindowKeys;

  beforeAll(async () => {
    server = await ThrowawayRedis.start();
    stack = await TestStack.create({ REDIS_URL: server.url, MAX_LATENESS_SECONDS: '600' });
    // No jobs: nothing but the calls below touches a key.
    const app = await stack.start({ APP_ROLE: 'api' });
    redis = app.get<Redis>(REDIS);
    script = app.get(IngestScript);
    layout = app.get(WindowKeys);
  });

  afterAll(async () => {
    await stack.dispose();
    await server.dispose();
  });

  const event = (eventId: string, customerId: string, at: number, tokens = 1): MeteringEvent => ({
    eventId,
    timestampMs: at,
    tenantId: 'pipelined-tenant',
    customerId,
    endpoint: '/x',
    tokens,
    inputTokens: tokens,
    outputTokens: 0,
    metadata: {},
  });

  async function counted(shard: number, customerId: string, at: number) {
    const key = layout.windowKey({
      shard,
      tenantId: 'pipelined-tenant',
      customerId,
      windowStartMs: windowStartOf(at, WINDOW_MS),
    });
    const { calls, tokens } = countersFromHash(await redis.hgetall(key));
    return { calls, tokens };
  }

  it('counts each shard once and fails only the call whose arguments fail', async () => {
    const at = Date.now();
    const poisoned = { ...event('p-1', 'c-poison', at), tokens: -1 };
    const [first, bad, third] = await Promise.allSettled(
      script.runAll([
        {
          shard: 1,
          events: [event('a-1', 'c-a', at, 3), event('a-2', 'c-a', at, 4)],
          receivedAtMs: at,
        },
        { shard: 2, events: [poisoned], receivedAtMs: at },
        {
          shard: 3,
          events: [event('b-1', 'c-b', at, 5), event('a-1', 'c-b', at)],
          receivedAtMs: at,
        },
      ]),
    );
    expect(first).toEqual({
      status: 'fulfilled',
      value: [IngestOutcome.Counted, IngestOutcome.Counted],
    });
    expect(bad).toMatchObject({ status: 'rejected', reason: expect.any(IngestArgumentError) });
    expect(third).toEqual({
      status: 'fulfilled',
      value: [IngestOutcome.Counted, IngestOutcome.Counted],
    });
    expect(await counted(1, 'c-a', at)).toEqual({ calls: 2, tokens: 7 });
    expect(await counted(3, 'c-b', at)).toEqual({ calls: 2, tokens: 6 });
    expect(await counted(2, 'c-poison', at)).toEqual({ calls: 0, tokens: 0 });

    // Sent again, in one write with a new event: the old ones are duplicates, once each.
    const again = await Promise.all(
      script.runAll([
        {
          shard: 1,
          events: [event('a-2', 'c-a', at, 4), event('a-3', 'c-a', at, 1)],
          receivedAtMs: at,
        },
        { shard: 3, events: [event('b-1', 'c-b', at, 5)], receivedAtMs: at },
      ]),
    );
    expect(again).toEqual([
      [IngestOutcome.Duplicate, IngestOutcome.Counted],
      [IngestOutcome.Duplicate],
    ]);
    expect(await counted(1, 'c-a', at)).toEqual({ calls: 3, tokens: 8 });
  });

  it('answers every call of the write after Redis has forgotten the script (EVAL fallback)', async () => {
    const at = Date.now();
    await redis.call('SCRIPT', 'FLUSH');
    const outcomes = await Promise.all(
      script.runAll([
        { shard: 4, events: [event('f-1', 'c-f', at, 2)], receivedAtMs: at },
        {
          shard: 5,
          events: [event('g-1', 'c-g', at, 3), event('g-2', 'c-g', at, 1)],
          receivedAtMs: at,
        },
      ]),
    );
    expect(outcomes).toEqual([
      [IngestOutcome.Counted],
      [IngestOutcome.Counted, IngestOutcome.Counted],
    ]);
    expect(await counted(4, 'c-f', at)).toEqual({ calls: 1, tokens: 2 });
    expect(await counted(5, 'c-g', at)).toEqual({ calls: 2, tokens: 4 });
  });
});
