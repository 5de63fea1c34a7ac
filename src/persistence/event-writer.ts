import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisLayout } from '../aggregation/redis-layout';
import { isBeyondLateness, windowStartOf } from '../aggregation/window-math';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { SystemDatabase } from '../infra/database/system-database';
import { execAll } from '../infra/redis/exec-all';
import { REDIS } from '../infra/redis/redis.tokens';
import type { StreamedEvent } from '../ingestion/metering-event';
import { Metrics } from '../metrics/metrics';
import {
  INSERT_EVENTS_SKIPPING_STORED_SQL,
  INSERT_NEW_EVENTS_SQL,
  UPSERT_CUSTOMERS_SQL,
} from './event-writer.sql';

const UNIQUE_VIOLATION = '23505';

export type StreamEntry = [id: string, fields: string[]];

export interface ShardEntries {
  shard: number;
  entries: StreamEntry[];
}

/**
 * Writes one shard's stream entries to Postgres in one transaction, then asks for a
 * recompute of every window that Redis no longer owns (see docs/consistency.md).
 */
@Injectable()
export class EventWriter {
  private readonly logger = new Logger(EventWriter.name);

  constructor(
    private readonly systemDb: SystemDatabase,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly layout: RedisLayout,
    private readonly metrics: Metrics,
  ) {}

  /** All shards' entries in one transaction; returns the events written. */
  async write(batches: ShardEntries[]): Promise<number> {
    const perShard = batches.map(({ shard, entries }) => ({
      shard,
      events: entries.flatMap(([id, fields]) => parseEntry(id, fields, this.logger)),
    }));
    const events = perShard.flatMap((b) => b.events);
    if (events.length === 0) return 0;
    await this.insert(events);
    this.metrics.persisted.inc(events.length);
    await this.requestRecomputes(perShard);
    return events.length;
  }

  private async insert(events: StreamedEvent[]): Promise<void> {
    const cols = {
      eventId: [] as string[],
      tenantId: [] as string[],
      customerId: [] as string[],
      ts: [] as string[],
      endpoint: [] as string[],
      metadata: [] as string[],
      receivedAt: [] as string[],
    };
    for (const e of events) {
      cols.eventId.push(e.i);
      cols.tenantId.push(e.t);
      cols.customerId.push(e.c);
      cols.ts.push(new Date(e.ts).toISOString());
      cols.endpoint.push(e.e);
      cols.metadata.push(JSON.stringify(e.m));
      cols.receivedAt.push(new Date(e.r).toISOString());
    }
    // One batch holds many tenants' events: the system path, in one transaction. A
    // conflict aborts it, and the batch is written again skipping what is stored.
    const write = (insertSql: string) =>
      this.systemDb.runAcrossTenants(async (manager) => {
        await manager.query(UPSERT_CUSTOMERS_SQL, [cols.tenantId, cols.customerId]);
        await manager.query(insertSql, Object.values(cols));
      });
    try {
      await write(INSERT_NEW_EVENTS_SQL);
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      this.logger.debug(`a batch of ${events.length} events held stored ones; skipping those`);
      await write(INSERT_EVENTS_SKIPPING_STORED_SQL);
    }
  }

  /**
   * A window past max lateness (less the grace, for clock skew between this process
   * and Redis) is owned by Postgres: any event committed for it triggers a recompute
   * from raw events, which is exact whatever order the commits happened in.
   */
  private async requestRecomputes(
    perShard: { shard: number; events: StreamedEvent[] }[],
  ): Promise<void> {
    const { ms, maxLatenessMs, graceMs } = this.config.window;
    const now = Date.now();
    const pipeline = this.redis.pipeline();
    let requested = 0;
    for (const { shard, events } of perShard) {
      const keys = new Set<string>();
      for (const e of events) {
        const windowStartMs = windowStartOf(e.ts, ms);
        if (isBeyondLateness(windowStartMs + ms, maxLatenessMs - graceMs, now)) {
          keys.add(this.layout.windowKey({ shard, tenantId: e.t, customerId: e.c, windowStartMs }));
        }
      }
      if (keys.size === 0) continue;
      pipeline.zadd(this.layout.recomputeIndex(shard), ...[...keys].flatMap((key) => [now, key]));
      requested += keys.size;
    }
    if (requested > 0) await execAll(pipeline);
  }
}

function parseEntry(id: string, fields: string[], logger: Logger): StreamedEvent[] {
  const index = fields.indexOf('e');
  try {
    return JSON.parse(fields[index + 1]) as StreamedEvent[];
  } catch {
    // Only this service writes the stream; an unreadable entry is a bug, not input.
    logger.error(`stream entry ${id} is unreadable and is skipped`);
    return [];
  }
}
