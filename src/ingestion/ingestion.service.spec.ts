import type { Redis } from 'ioredis';
import { shardOf } from '../window-store/shard';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import { type Spool, SpoolFullError } from '../infra/spool/spool';
import { Metrics } from '../infra/metrics/metrics';
import type { StreamBacklog } from '../persistence/stream-backlog';
import type { IngestBatcher } from './ingest-batcher';
import { IngestionService } from './ingestion.service';
import { IngestOutcome, type MeteringEvent } from '../window-store/metering-event';
import type { UsageFeed } from '../live/usage-feed';
import { SpoolFallback } from './spool-fallback';
import { decodeSpooled } from './spooled-request';

const config = loadConfig({ ...REQUIRED_ENV, SHARDS: '2' });
const RECEIVED = 1_700_000_000_000;

/** Events for customers found to land on shard 0 and on shard 1. */
const customerOn = (shard: number) =>
  Array.from({ length: 50 }, (_, i) => `c-${i}`).find((c) => shardOf('t', c, 2) === shard)!;
const ev = (eventId: string, shard: number): MeteringEvent => ({
  eventId,
  tenantId: 't',
  customerId: customerOn(shard),
  endpoint: '/a',
  timestampMs: 1,
  tokens: 0,
  inputTokens: 0,
  outputTokens: 0,
  metadata: {},
});

interface World {
  redisStatus?: string;
  spoolEnabled?: boolean;
  aboveHighWater?: boolean;
  /** What the script call of each shard does: outcomes, or an error. */
  shards: Record<number, IngestOutcome | Error>;
  spoolError?: Error;
}

function service(world: World) {
  const submitted: number[] = [];
  const spooled: Buffer[] = [];
  const batcher = {
    submit: (shard: number, events: MeteringEvent[]) => {
      submitted.push(shard);
      const behaviour = world.shards[shard];
      return behaviour instanceof Error
        ? Promise.reject(behaviour)
        : Promise.resolve(events.map(() => behaviour));
    },
  } as unknown as IngestBatcher;
  const spool = {
    enabled: world.spoolEnabled ?? true,
    append: (payload: Buffer) => {
      if (world.spoolError) return Promise.reject(world.spoolError);
      spooled.push(payload);
      return Promise.resolve();
    },
  } as unknown as Spool;
  const redis = { status: world.redisStatus ?? 'ready' } as Redis;
  const backlog = { isAboveHighWater: () => world.aboveHighWater ?? false } as StreamBacklog;
  const metrics = new Metrics();
  const noted: string[] = [];
  const usage = { note: (_t: string, customerId: string) => noted.push(customerId) };
  const ingestion = new IngestionService(
    config,
    batcher,
    backlog,
    metrics,
    new SpoolFallback(redis, spool, metrics),
    usage as unknown as UsageFeed,
  );
  return { ingestion, submitted, spooled, noted };
}

const events = [ev('a', 0), ev('b', 0), ev('c', 1)];

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError))
    throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

describe('IngestionService with the spool', () => {
  it('spools the shards Redis could not be reached for, and counts the others', async () => {
    const { ingestion, spooled } = service({
      shards: { 0: IngestOutcome.Duplicate, 1: new Error('Connection is closed.') },
    });
    expect(await ingestion.ingest(events, RECEIVED)).toEqual({
      accepted: 1,
      duplicates: 2,
      spooled: 1,
    });
    expect(spooled.map(decodeSpooled)).toEqual([
      { receivedAtMs: RECEIVED, events: [{ ...events[2], receivedAtMs: RECEIVED }] },
    ]);
  });

  it('answers as before, without `spooled`, when Redis answers every shard', async () => {
    const { ingestion, spooled, noted } = service({
      shards: { 0: IngestOutcome.Counted, 1: IngestOutcome.CountedLate },
    });
    expect(await ingestion.ingest(events, RECEIVED)).toEqual({ accepted: 3, duplicates: 0 });
    expect(spooled).toEqual([]);
    // Counted into a window, on time or late: the live feed hears of each.
    expect(noted).toEqual(events.map((e) => e.customerId));
  });

  it('tells the live feed of neither duplicates nor spooled events: no window changed', async () => {
    const { ingestion, noted } = service({
      shards: { 0: IngestOutcome.Duplicate, 1: new Error('Connection is closed.') },
    });
    await ingestion.ingest(events, RECEIVED);
    expect(noted).toEqual([]);
  });

  it('spools without asking Redis while the connection is down, whatever the last backlog', async () => {
    const { ingestion, submitted, spooled } = service({
      redisStatus: 'reconnecting',
      aboveHighWater: true,
      shards: {},
    });
    expect(await ingestion.ingest(events, RECEIVED)).toEqual({
      accepted: 3,
      duplicates: 0,
      spooled: 3,
    });
    expect(submitted).toEqual([]);
    expect(spooled).toHaveLength(1);
  });

  it('answers 503 and spools nothing when a shard failed otherwise (a timeout, a script error)', async () => {
    const { ingestion, spooled } = service({
      shards: { 0: new Error('Command timed out'), 1: new Error('Connection is closed.') },
    });
    const error = await refusal(ingestion.ingest(events, RECEIVED));
    expect(error.code).toBe(ErrorCode.Unavailable);
    expect(error.extras.retryAfterSeconds).toBe(1);
    expect(spooled).toEqual([]);
  });

  it('answers 503 with a longer Retry-After when the spool is full', async () => {
    const { ingestion } = service({
      redisStatus: 'reconnecting',
      shards: {},
      spoolError: new SpoolFullError('full'),
    });
    const error = await refusal(ingestion.ingest(events, RECEIVED));
    expect(error.code).toBe(ErrorCode.Unavailable);
    expect(error.extras.retryAfterSeconds).toBe(5);
  });

  it('answers 503, as without a spool, when the spool is off', async () => {
    const { ingestion, submitted } = service({
      spoolEnabled: false,
      redisStatus: 'reconnecting',
      shards: { 0: new Error('Connection is closed.'), 1: new Error('Connection is closed.') },
    });
    expect((await refusal(ingestion.ingest(events, RECEIVED))).code).toBe(ErrorCode.Unavailable);
    expect(submitted).toEqual([0, 1]);
  });
});
