import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { WindowKeys } from '../src/infra/redis/redis-keys';
import { windowStartOf } from '../src/window-store/window-math';
import { REDIS } from '../src/infra/redis/redis.tokens';
import { dedupMember } from '../src/window-store/dedup-member';
import { IngestScript } from '../src/window-store/ingest-script';
import { IngestOutcome, type MeteringEvent } from '../src/window-store/metering-event';
import { TestStack } from './support/harness';

const WINDOW_MS = 2000;

describe('the dedup buckets of a window (ingest.lua.ts)', () => {
  let stack: TestStack;
  let redis: Redis;
  let script: IngestScript;
  let layout: WindowKeys;

  beforeAll(async () => {
    // No jobs: nothing but the calls below touches a key.
    stack = await TestStack.create({ MAX_LATENESS_SECONDS: '600' });
    const app = await stack.start({ APP_ROLE: 'api' });
    redis = app.get<Redis>(REDIS);
    script = app.get(IngestScript);
    layout = app.get(WindowKeys);
  });

  afterAll(() => stack.dispose());

  function events(customerId: string, ids: string[], at: number): MeteringEvent[] {
    return ids.map((eventId) => ({
      eventId,
      timestampMs: at,
      tenantId: 'dedup-tenant',
      customerId,
      endpoint: '/x',
      tokens: 1,
      inputTokens: 1,
      outputTokens: 0,
      metadata: {},
    }));
  }

  async function ingest(batch: MeteringEvent[]): Promise<IngestOutcome[]> {
    const outcomes: IngestOutcome[] = [];
    for (let i = 0; i < batch.length; i += 250) {
      outcomes.push(...(await script.run(0, batch.slice(i, i + 250), Date.now())));
    }
    return outcomes;
  }

  it('holds thousands of ids exactly, across bucket splits, in small listpack hashes', async () => {
    const at = Date.now();
    const ids = Array.from({ length: 3000 }, (_, i) =>
      i % 2 ? randomUUID() : `req-${i}-${'p'.repeat(i % 40)}`,
    );
    const first = await ingest(events('c-many', ids, at));
    // 1 new, 3 new but late (the window may close while this runs), 0 duplicate.
    expect(first.filter((o) => o === IngestOutcome.Duplicate)).toHaveLength(0);
    // Again, shuffled and with a new id in the middle: only that one is new.
    const again = [...ids].reverse();
    again.splice(1500, 0, 'the-new-one');
    const second = await ingest(events('c-many', again, at));
    expect(second.filter((o) => o !== IngestOutcome.Duplicate)).toHaveLength(1);
    expect(second[1500]).not.toBe(IngestOutcome.Duplicate);

    const root = layout.dedupKey({
      shard: 0,
      tenantId: 'dedup-tenant',
      windowStartMs: windowStartOf(at, WINDOW_MS),
      customerId: 'c-many',
    });
    expect(await redis.hget(root, '')).toBe(String(ids.length + 1));
    const buckets = [root, ...(await redis.keys(`${root}:*`))];
    // 3,001 members, split whenever there are more than 40 a bucket: 76 buckets.
    expect(buckets).toHaveLength(76);
    let members = 0;
    for (const key of buckets) {
      expect(await redis.call('OBJECT', 'ENCODING', key)).toBe('listpack');
      expect(await redis.pttl(key)).toBeGreaterThan(0);
      members += await redis.hlen(key);
    }
    expect(members).toBe(ids.length + 1 + 1); // and the root's count field
  });

  it('stays exact, and every bucket expires, when the ids all hash alike', async () => {
    const at = Date.now();
    // Ids a producer might pick to crowd a few buckets: every hash a multiple of 4, so
    // splits move nothing (empty new buckets) or everything (emptied old ones).
    const ids: string[] = [];
    for (let i = 0; ids.length < 300; i++) {
      if (dedupMember(`crowd-${i}`).readUInt16BE(0) % 4 === 0) ids.push(`crowd-${i}`);
    }
    const first = await ingest(events('c-crowd', ids, at));
    expect(first.filter((o) => o === IngestOutcome.Duplicate)).toHaveLength(0);
    const second = await ingest(events('c-crowd', ids, at));
    expect(second.filter((o) => o !== IngestOutcome.Duplicate)).toHaveLength(0);

    const root = layout.dedupKey({
      shard: 0,
      tenantId: 'dedup-tenant',
      windowStartMs: windowStartOf(at, WINDOW_MS),
      customerId: 'c-crowd',
    });
    expect(await redis.hget(root, '')).toBe(String(ids.length));
    const buckets = [root, ...(await redis.keys(`${root}:*`))];
    expect(buckets).toHaveLength(Math.ceil(ids.length / 40));
    for (const key of buckets) expect(await redis.pttl(key)).toBeGreaterThan(0);
  });

  it('still finds the events a window saw before the buckets, in its legacy set', async () => {
    const at = Date.now();
    const ref = {
      shard: 0,
      tenantId: 'dedup-tenant',
      windowStartMs: windowStartOf(at, WINDOW_MS),
      customerId: 'c-legacy',
    };
    const uuid = randomUUID();
    const long = `legacy-${'q'.repeat(20)}`;
    await redis.sadd(layout.legacyDedupKey(ref), uuid, 'short', long);
    const outcomes = await script.run(
      0,
      events('c-legacy', [uuid, 'short', long, uuid.toUpperCase(), 'other'], at),
      Date.now(),
    );
    expect(outcomes.map((o) => o !== IngestOutcome.Duplicate)).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
  });
});
