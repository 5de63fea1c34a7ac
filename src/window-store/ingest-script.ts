import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { WindowKeys } from '../infra/redis/redis-keys';
import { windowEndOf, windowStartOf } from './window-math';
import { MAX_INSTANT_MS, MIN_INSTANT_MS } from '../common/validation/exact-instant';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import {
  defineScript,
  queueScript,
  type ScriptArgument,
  type ScriptCommand,
} from '../infra/redis/define-script';
import { REDIS } from '../infra/redis/redis.tokens';
import { dedupMember } from './dedup-member';
import { IngestArgumentError } from './ingest-failure';
import { INGEST_LUA } from './ingest.lua';
import { IngestOutcome, MeteringEvent } from './metering-event';
import { encodeStreamedEvent } from './stream-entry';

/** One shard's micro-batch: what one script call counts. */
export interface IngestCall {
  shard: number;
  events: MeteringEvent[];
  receivedAtMs: number;
}

const SCRIPT_NAME = 'tallyIngest';

interface WindowGroup {
  hashKey: string;
  dedupKey: string;
  legacyDedupKey: string;
  windowEndMs: number;
  positions: number[];
}

/** Runs the ingest script for one shard's micro-batch and maps outcomes back to input order. */
@Injectable()
export class IngestScript {
  private readonly command: ScriptCommand<number[]>;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly layout: WindowKeys,
  ) {
    this.command = defineScript(redis, SCRIPT_NAME, INGEST_LUA);
  }

  /**
   * Every argument is checked here before anything is sent, and again by the script
   * before its first write (ingest.lua.ts): a call either runs whole or changes nothing.
   * A value that fails is an IngestArgumentError (`rejected`, see ingest-failure.ts).
   */
  async run(
    shard: number,
    events: MeteringEvent[],
    receivedAtMs: number,
  ): Promise<IngestOutcome[]> {
    const { keys, args, order } = this.call(shard, events, receivedAtMs);
    return inInputOrder(await this.command(keys.length, ...keys, ...args), order);
  }

  /**
   * Several shards' calls in one write to Redis (a pipeline), each settling on its own
   * as `run` would: a call whose arguments fail, or that Redis refuses, fails alone.
   * One write instead of one per shard: the socket write was the largest single cost of
   * a single-event request (docs/performance.md). Shards live in different slots, so on a
   * Redis Cluster client this pipeline would have to be split per node.
   */
  runAll(calls: IngestCall[]): Promise<IngestOutcome[]>[] {
    const pipeline = this.redis.pipeline();
    const settled = calls.map(async ({ shard, events, receivedAtMs }) => {
      const { keys, args, order } = this.call(shard, events, receivedAtMs);
      const reply = queueScript<number[]>(pipeline, SCRIPT_NAME, keys.length, [...keys, ...args]);
      return inInputOrder(await reply, order);
    });
    // Each call's own promise carries its failure; the pipeline's is only a summary.
    if (pipeline.length > 0) pipeline.exec().catch(() => undefined);
    return settled;
  }

  /** What `run` sends: KEYS, ARGV, and for each event in ARGV its position in `events`. */
  call(shard: number, events: MeteringEvent[], receivedAtMs: number) {
    if (!isCount(receivedAtMs)) throw new IngestArgumentError('receivedAtMs is not a time');
    checkEvents(events);
    const groups = this.groupByWindow(shard, events);
    const keys = [this.layout.stream(shard), this.layout.openIndex(shard)];
    const { graceMs, maxLatenessMs, retentionMarginMs } = this.config.window;
    const args: ScriptArgument[] = [graceMs, maxLatenessMs, retentionMarginMs, groups.length];
    const order: number[] = [];
    for (const group of groups) {
      keys.push(group.hashKey, group.dedupKey, group.legacyDedupKey);
      args.push(group.windowEndMs, group.positions.length);
      for (const position of group.positions) {
        const e = events[position];
        args.push(
          dedupMember(e.eventId),
          e.tokens,
          e.inputTokens,
          e.outputTokens,
          e.latencyMs ?? -1,
          e.endpoint,
          e.model ?? '',
          encodeStreamedEvent(e, receivedAtMs),
        );
        order.push(position);
      }
    }
    return { keys, args, order };
  }

  private groupByWindow(shard: number, events: MeteringEvent[]): WindowGroup[] {
    const windowMs = this.config.window.ms;
    const groups = new Map<string, WindowGroup>();
    events.forEach((e, position) => {
      const ref = {
        shard,
        tenantId: e.tenantId,
        customerId: e.customerId,
        windowStartMs: windowStartOf(e.timestampMs, windowMs),
      };
      const hashKey = this.layout.windowKey(ref);
      let group = groups.get(hashKey);
      if (!group) {
        group = {
          hashKey,
          dedupKey: this.layout.dedupKey(ref),
          legacyDedupKey: this.layout.legacyDedupKey(ref),
          windowEndMs: windowEndOf(ref.windowStartMs, windowMs),
          positions: [],
        };
        groups.set(hashKey, group);
      }
      group.positions.push(position);
    });
    return [...groups.values()];
  }
}

function inInputOrder(scriptOrder: IngestOutcome[], order: number[]): IngestOutcome[] {
  const outcomes = new Array<IngestOutcome>(order.length);
  scriptOrder.forEach((outcome, k) => (outcomes[order[k]] = outcome));
  return outcomes;
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isLabel = (s: unknown): s is string => typeof s === 'string' && s.length > 0;

/**
 * What the script and the window keys need of each event, whoever built it; throws an
 * IngestArgumentError. Counts are safe integers: Lua reads numbers as doubles, and
 * HINCRBY refuses anything else.
 */
export function checkEvents(events: MeteringEvent[]): void {
  events.forEach(checkEvent);
}

function checkEvent(e: MeteringEvent, index: number): void {
  const fail = (what: string) => {
    throw new IngestArgumentError(`event ${index} of the call: ${what}`);
  };
  if (![e.eventId, e.tenantId, e.customerId, e.endpoint].every(isLabel)) {
    fail('eventId, tenantId, customerId and endpoint must be non-empty strings');
  }
  if (e.model !== undefined && !isLabel(e.model)) fail('model must be a non-empty string');
  if (
    !Number.isSafeInteger(e.timestampMs) ||
    e.timestampMs < MIN_INSTANT_MS ||
    e.timestampMs > MAX_INSTANT_MS
  ) {
    fail('timestampMs is not an instant of years 0001 to 9999');
  }
  if (![e.tokens, e.inputTokens, e.outputTokens].every(isCount)) {
    fail('tokens, inputTokens and outputTokens must be safe integers >= 0');
  }
  if (e.latencyMs !== undefined && !isCount(e.latencyMs)) {
    fail('latencyMs must be a safe integer >= 0');
  }
  if (e.metadata === null || typeof e.metadata !== 'object') fail('metadata must be an object');
}
