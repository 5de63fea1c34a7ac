import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../src/config/app-config';
import { LiveEvents } from '../src/live/live-events';
import { StreamHistory } from '../src/live/stream-history';
import { createTenant } from './support/api';
import { eventually, TestStack } from './support/harness';
import { SseClient } from './support/sse';
import { ThrowawayRedis } from './support/throwaway';

async function listen(app: NestFastifyApplication): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

const marker = (n: number) => ({
  type: 'window.closed' as const,
  customerId: `m-${n}`,
  data: { n },
});

/** The live stream when Redis fails under it: on a Redis of this test's own. */
describe('the live stream when Redis fails', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;
  let app: NestFastifyApplication;
  let url: string;
  let tenant: { tenantId: string; key: string };
  const clients: SseClient[] = [];

  const open = async (headers: Record<string, string> = {}) => {
    const client = await SseClient.open(`${url}/v1/stream`, {
      'x-api-key': tenant.key,
      ...headers,
    });
    clients.push(client);
    return client;
  };

  /** Cuts this instance's Pub/Sub connection; ioredis reconnects it at once. */
  async function killSubscriber(): Promise<void> {
    const admin = new Redis(redis.url);
    try {
      const name = `tally:${app.get<AppConfig>(APP_CONFIG).instanceId}:subscriber`;
      const list = await admin.client('LIST');
      const id = /id=(\d+) .*name=(\S+)/g;
      const ids = [...String(list).matchAll(id)].filter((m) => m[2] === name).map((m) => m[1]);
      expect(ids).toHaveLength(1);
      await admin.client('KILL', 'ID', ids[0]);
    } finally {
      admin.disconnect();
    }
  }

  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
    stack = await TestStack.create({ REDIS_URL: redis.url, LIVE_HEARTBEAT_SECONDS: '1' });
    app = await stack.start();
    url = await listen(app);
    tenant = await createTenant(app);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await stack.dispose();
    await redis.dispose();
  });

  /**
   * A stream sees one event; this instance's Pub/Sub connection is cut (after `beforeCut`)
   * and two events are published before it is back, then one more: the stream gets all
   * four once, in order, with no reset.
   */
  async function expectNothingMissedAcrossACut(from: number, beforeCut = () => {}) {
    const stream = await open();
    const live = app.get(LiveEvents);
    const [first] = await live.publish(tenant.tenantId, [marker(from)]);
    await stream.waitFor('the first event', (c) => c.events.length === 1);
    beforeCut();
    await killSubscriber();
    const missed = await live.publish(tenant.tenantId, [marker(from + 1), marker(from + 2)]);
    await stream.waitFor('the events published while it was away', (c) => c.events.length === 3);
    const [after] = await live.publish(tenant.tenantId, [marker(from + 3)]);
    await stream.waitFor('the next one', (c) => c.events.length === 4);
    expect(stream.events.map((e) => e.id)).toEqual([
      first.id,
      ...missed.map((e) => e.id),
      after.id,
    ]);
    expect(stream.of('reset')).toEqual([]);
    expect(stream.ended).toBe(false);
  }

  it('lost its subscription: what was published meanwhile comes from the history, once, in order', async () => {
    await expectNothingMissedAcrossACut(1);
  });

  it('lost its subscription, and the first catch-up read fails: the read is tried again, nothing missed or repeated', async () => {
    const history = app.get(StreamHistory);
    let reads: jest.SpiedFunction<typeof history.after> | undefined;
    try {
      // Only once the stream is open: its own opening reads nothing that could take it.
      await expectNothingMissedAcrossACut(5, () => {
        reads = jest.spyOn(history, 'after').mockRejectedValueOnce(new Error('Command timed out'));
      });
      expect(reads!.mock.calls.length).toBeGreaterThan(1);
    } finally {
      reads?.mockRestore();
    }
  });

  it('Redis down: new streams get 503 with Retry-After, open ones stay open and go on after', async () => {
    const stream = await open();
    // Killed at once: the stream's catch-up read of the history may still be in flight.
    await stream.waitFor('the opening position', (c) => c.lastEventId !== undefined);
    await redis.kill('SIGKILL');
    try {
      const refused = await open();
      expect(refused.status).toBe(503);
      expect(refused.response.headers['retry-after']).toBe('1');
      expect(JSON.parse(await refused.body())).toMatchObject({ status: 503 });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(stream.ended).toBe(false);
    } finally {
      await redis.restart();
    }
    const live = app.get(LiveEvents);
    const [next] = await eventually(() => live.publish(tenant.tenantId, [marker(7)]));
    await stream.waitFor('an event after the outage', (c) => c.events.at(-1)?.id === next.id);
    expect(stream.ended).toBe(false);
  });

  it('Redis restarted without its data: open streams are told to reset, then go on', async () => {
    const stream = await open();
    const live = app.get(LiveEvents);
    await eventually(async () => {
      await live.publish(tenant.tenantId, [marker(5)]);
      expect(stream.events.length).toBeGreaterThan(0);
    });
    await redis.wipe();
    await stream.waitFor('the reset', (c) => c.of('reset').length === 1, 15_000);
    const [next] = await eventually(() => live.publish(tenant.tenantId, [marker(6)]));
    await stream.waitFor('the next event', (c) => c.events.at(-1)?.id === next.id);
    expect(stream.ended).toBe(false);
  });

  it('Redis restarted without its data: a stream opened before the instance’s catch-up sees the gap is not reset, and misses nothing', async () => {
    const live = app.get(LiveEvents);
    const history = app.get(StreamHistory);
    const before = await open();
    const [last] = await eventually(() => live.publish(tenant.tenantId, [marker(31)]));
    await before.waitFor('the last event before the loss', (c) => c.events.at(-1)?.id === last.id);
    // The instance's catch-up reads from the last event it passed on; it waits here until
    // a stream has opened on the new history.
    let release!: () => void;
    const opened = new Promise<void>((resolve) => (release = resolve));
    const read = history.after.bind(history);
    let held = false;
    const answered = new Set<string>();
    const reads = jest.spyOn(history, 'after').mockImplementation(async (...args) => {
      if (args[1] === last.id && !held) {
        held = true;
        await opened;
      }
      const page = await read(...args);
      answered.add(args[1]);
      return page;
    });
    try {
      await redis.wipe();
      await eventually(async () => expect(held).toBe(true), 15_000);
      const after = await eventually(async () => {
        const stream = await open();
        expect(stream.status).toBe(200);
        return stream;
      });
      await after.waitFor('its opening position', (c) => c.lastEventId !== undefined);
      // Its own catch-up is done: it is in step with the channel when the gap is found.
      await eventually(async () => expect(answered.has(after.lastEventId!)).toBe(true));
      const [next] = await live.publish(tenant.tenantId, [marker(32)]);
      release();
      await before.waitFor('the reset', (c) => c.of('reset').length === 1, 15_000);
      await after.waitFor('the next event', (c) => c.events.at(-1)?.id === next.id);
      expect(after.events.map((e) => [e.event, e.id])).toEqual([['window.closed', next.id]]);
      expect(after.ended).toBe(false);
    } finally {
      release();
      reads.mockRestore();
    }
  });

  it('a history begun again after Redis lost it tells a resume from before that it has a gap, whoever begins it', async () => {
    const live = app.get(LiveEvents);
    const history = app.get(StreamHistory);
    const [before] = await live.publish(tenant.tenantId, [marker(21)]);
    // Begun again by a touch (a stream opening, a heartbeat) before any catch-up reads it.
    await redis.wipe();
    await eventually(() => history.touch(tenant.tenantId));
    expect(await history.after(tenant.tenantId, before.id, 10)).toEqual({ gap: true });
    // Begun again by an append (an event published on any instance).
    const [again] = await live.publish(tenant.tenantId, [marker(22)]);
    await redis.wipe();
    const [after] = await eventually(() => live.publish(tenant.tenantId, [marker(23)]));
    expect(await history.after(tenant.tenantId, again.id, 10)).toEqual({ gap: true });
    // A resume from within the new history is no gap.
    const [last] = await live.publish(tenant.tenantId, [marker(24)]);
    expect(await history.after(tenant.tenantId, after.id, 10)).toMatchObject({
      gap: false,
      events: [{ id: last.id }],
    });
  });

  it('Redis stalls under the catch-up read of a resuming stream: the stream stays open and gets what it missed once Redis answers', async () => {
    const live = app.get(LiveEvents);
    const [seen, ...missed] = await live.publish(tenant.tenantId, [
      marker(11),
      marker(12),
      marker(13),
    ]);
    // The stall begins exactly as the stream reads its history: that read times out
    // (REDIS_COMMAND_TIMEOUT_MS), and so do the retries until Redis answers again. Only
    // this stream's read begins it: the earlier tests' streams may still be catching up.
    const history = app.get(StreamHistory);
    const read = history.after.bind(history);
    let stalled = false;
    const reads = jest.spyOn(history, 'after').mockImplementation((...args) => {
      if (args[1] === seen.id && !stalled) {
        stalled = true;
        redis.pause();
        setTimeout(() => redis.resume(), 2500);
      }
      return read(...args);
    });
    try {
      const stream = await open({ 'last-event-id': seen.id });
      expect(stream.status).toBe(200);
      await stream.waitFor('the missed events', (c) => c.events.length === missed.length, 15_000);
      expect(reads.mock.calls.filter((call) => call[1] === seen.id).length).toBeGreaterThan(1);
      const [next] = await live.publish(tenant.tenantId, [marker(14)]);
      await stream.waitFor('the next one', (c) => c.events.at(-1)?.id === next.id);
      expect(stream.events.map((e) => e.id)).toEqual([...missed.map((e) => e.id), next.id]);
      expect(stream.of('reset')).toEqual([]);
      expect(stream.ended).toBe(false);
    } finally {
      redis.resume();
      reads.mockRestore();
    }
  });
});
