import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisLayout } from '../aggregation/redis-layout';
import { windowEndOf, windowStartOf } from '../aggregation/window-math';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { REDIS } from '../infra/redis/redis.tokens';
import { INGEST_LUA } from './ingest.lua';
import { IngestOutcome, MeteringEvent, StreamedEvent } from './metering-event';

type IngestCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

interface WindowGroup {
  hashKey: string;
  dedupKey: string;
  windowEndMs: number;
  positions: number[];
}

/** Runs the ingest script for one shard's micro-batch and maps outcomes back to input order. */
@Injectable()
export class IngestScript {
  private readonly command: IngestCommand;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly layout: RedisLayout,
  ) {
    redis.defineCommand('tallyIngest', { lua: INGEST_LUA });
    const client = redis as unknown as { tallyIngest: IngestCommand };
    this.command = client.tallyIngest.bind(redis);
  }

  async run(
    shard: number,
    events: MeteringEvent[],
    receivedAtMs: number,
  ): Promise<IngestOutcome[]> {
    const groups = this.groupByWindow(shard, events);
    const keys = [this.layout.stream(shard), this.layout.openIndex(shard)];
    const { graceMs, maxLatenessMs, retentionMarginMs } = this.config.window;
    const args: (string | number)[] = [graceMs, maxLatenessMs, retentionMarginMs, groups.length];
    const order: number[] = [];
    for (const group of groups) {
      keys.push(group.hashKey, group.dedupKey);
      args.push(group.windowEndMs, group.positions.length);
      for (const position of group.positions) {
        const e = events[position];
        args.push(
          e.eventId,
          e.tokens,
          e.inputTokens,
          e.outputTokens,
          e.latencyMs ?? -1,
          e.endpoint,
          e.model ?? '',
          JSON.stringify(toStreamed(e, receivedAtMs)),
        );
        order.push(position);
      }
    }
    const scriptOrder = await this.command(keys.length, ...keys, ...args);
    const outcomes = new Array<IngestOutcome>(events.length);
    scriptOrder.forEach((outcome, k) => (outcomes[order[k]] = outcome));
    return outcomes;
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

function toStreamed(e: MeteringEvent, receivedAtMs: number): StreamedEvent {
  return {
    i: e.eventId,
    t: e.tenantId,
    c: e.customerId,
    ts: e.timestampMs,
    e: e.endpoint,
    m: e.metadata,
    r: e.receivedAtMs ?? receivedAtMs,
  };
}
