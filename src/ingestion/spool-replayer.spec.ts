import type { Redis } from 'ioredis';
import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import type { SegmentRef, Spool } from '../infra/spool/spool';
import { Metrics } from '../infra/metrics/metrics';
import type { StreamBacklog } from '../persistence/stream-backlog';
import type { IngestBatcher } from './ingest-batcher';
import { IngestOutcome, type MeteringEvent } from '../window-store/metering-event';
import { SpoolReplayer } from './spool-replayer';
import { encodeSpooled } from './spooled-request';

const config = loadConfig({ ...REQUIRED_ENV, SHARDS: '4', INGEST_BATCH_MAX_EVENTS: '3' });
const ev = (eventId: string, customerId: string) =>
  ({ eventId, tenantId: 't', customerId, timestampMs: 1 }) as MeteringEvent;

/** Two segments of two requests each, as a spool would hold them. */
const segments: Record<string, Buffer[]> = {
  '/s/1.seg': [
    encodeSpooled({ receivedAtMs: 100, events: [ev('a', 'c-1'), ev('b', 'c-2')] }),
    encodeSpooled({ receivedAtMs: 200, events: [ev('dup-c', 'c-1')] }),
  ],
  '/s/2.seg': [encodeSpooled({ receivedAtMs: 300, events: [ev('d', 'c-3'), ev('e', 'c-3')] })],
};

function replayer({ failOn = '', redisStatus = 'ready', aboveHighWater = false } = {}) {
  const removed: string[] = [];
  const sent: MeteringEvent[] = [];
  const spool = {
    enabled: true,
    adoptOrphans: () => Promise.resolve([]),
    segmentsToReplay: () =>
      Promise.resolve(Object.keys(segments).map((path) => ({ path, bytes: 1 }))),
    read: (segment: SegmentRef) =>
      Promise.resolve({ payloads: segments[segment.path], discardedBytes: 0 }),
    remove: (segment: SegmentRef) => {
      removed.push(segment.path);
      return Promise.resolve();
    },
  } as unknown as Spool;
  const batcher = {
    submit: (_shard: number, events: MeteringEvent[]) => {
      if (events.some((e) => e.eventId === failOn)) return Promise.reject(new Error('reset'));
      sent.push(...events);
      return Promise.resolve(
        events.map((e) =>
          e.eventId.startsWith('dup') ? IngestOutcome.Duplicate : IngestOutcome.Counted,
        ),
      );
    },
  } as unknown as IngestBatcher;
  const metrics = new Metrics();
  const subject = new SpoolReplayer(
    config,
    { status: redisStatus } as Redis,
    spool,
    batcher,
    { isAboveHighWater: () => aboveHighWater } as StreamBacklog,
    metrics,
  );
  return { subject, removed, sent, metrics };
}

async function replayed(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.replayedEvents.get();
  return Object.fromEntries(values.map((v) => [v.labels.outcome, v.value]));
}

describe('SpoolReplayer', () => {
  it("replays every segment through the batcher, each event with its request's arrival time, then deletes it", async () => {
    const { subject, removed, sent, metrics } = replayer();
    expect(await subject.replay()).toBe(5);
    expect(removed).toEqual(['/s/1.seg', '/s/2.seg']);
    expect(Object.fromEntries(sent.map((e) => [e.eventId, e.receivedAtMs]))).toEqual({
      a: 100,
      b: 100,
      'dup-c': 200,
      d: 300,
      e: 300,
    });
    expect(await replayed(metrics)).toMatchObject({ counted: 4, duplicate: 1 });
  });

  it('keeps a segment whose replay failed, for a later pass, and stops there', async () => {
    const { subject, removed, metrics } = replayer({ failOn: 'dup-c' });
    expect(await subject.replay()).toBe(0);
    expect(removed).toEqual([]);
    expect((await metrics.replayFailures.get()).values[0].value).toBe(1);
  });

  it.each([
    ['Redis is out of reach', { redisStatus: 'reconnecting' }],
    ['the stream backlog is above its high-water mark', { aboveHighWater: true }],
  ])('waits while %s', async (_, world) => {
    const { subject, sent, removed } = replayer(world);
    expect(await subject.replay()).toBe(0);
    expect(sent).toEqual([]);
    expect(removed).toEqual([]);
  });
});
