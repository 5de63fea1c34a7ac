import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import type { LiveEvent } from './live-event';
import type { StreamHistory } from './stream-history';
import { type ChannelListener, TenantChannels, type TenantGroup } from './tenant-channels';

const config = loadConfig(REQUIRED_ENV);

const event = (id: string): LiveEvent => ({
  id,
  type: 'window.closed',
  time: '2026-12-03T00:00:00Z',
  customerId: 'c-1',
  data: {},
});

/**
 * The channel's dispatch alone: a subscriber that only emits what the test sends, and a
 * history whose head is `100-0`. What reaches Redis is the integration tests' (live-redis).
 */
async function channelsWithGroup(
  after: StreamHistory['after'] = () => Promise.reject(new Error()),
) {
  const subscriber = Object.assign(new EventEmitter(), {
    subscribe: () => Promise.resolve(1),
  });
  const redis = { pipeline: () => ({ set: () => undefined, exec: () => Promise.resolve([]) }) };
  const history = { touch: () => Promise.resolve('100-0'), after } as unknown as StreamHistory;
  const channels = new TenantChannels(
    config,
    redis as unknown as Redis,
    subscriber as unknown as Redis,
    history,
  );
  const delivered: string[][] = [];
  const listener: ChannelListener = {
    deliver: (_group: TenantGroup, events: LiveEvent[]) => delivered.push(events.map((e) => e.id)),
    lost: () => undefined,
  };
  const group = channels.join('t-1', listener);
  await group.ready;
  const send = (events: LiveEvent[]) =>
    subscriber.emit('message', group.channel, JSON.stringify(events));
  // The subscriber's first ready is its start; each later one, a reconnect.
  subscriber.emit('ready');
  const reconnect = () => subscriber.emit('ready');
  return { group, delivered, send, reconnect };
}

describe('TenantChannels', () => {
  it('hands on each event once, whatever brings it again (a catch-up and its backlog overlap)', async () => {
    const { group, delivered, send } = await channelsWithGroup();
    send([event('100-1'), event('100-2')]);
    send([event('100-2')]);
    send([event('100-1'), event('100-2'), event('101-0')]);
    send([event('99-0')]);
    expect(delivered).toEqual([['100-1', '100-2'], ['101-0']]);
    expect(group.position).toBe('101-0');
  });

  it('reads the history again when the subscriber reconnects during a catch-up, holding the channel meanwhile', async () => {
    const reads: string[] = [];
    let release = () => {};
    const after = (_tenant: string, position: string) => {
      reads.push(position);
      const page = { gap: false, events: reads.length === 2 ? [event('101-0')] : [] };
      // The first read waits for the test: the second reconnect comes while it is under way.
      if (reads.length > 1) return Promise.resolve(page);
      return new Promise<typeof page>((resolve) => (release = () => resolve(page)));
    };
    const { delivered, send, reconnect } = await channelsWithGroup(after);
    reconnect();
    await new Promise(setImmediate);
    send([event('101-0'), event('101-1')]);
    reconnect();
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reads).toEqual(['100-0', '100-0']);
    expect(delivered).toEqual([['101-0'], ['101-1']]);
  });
});
