import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisLayout } from '../aggregation/redis-layout';
import { shardOf } from '../aggregation/shard';
import { isBeyondLateness } from '../aggregation/window-math';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { SystemDatabase } from '../infra/database/system-database';
import { execAll } from '../infra/redis/exec-all';
import { REDIS } from '../infra/redis/redis.tokens';
import { Metrics } from '../metrics/metrics';
import { WRITE_EVENTS_SKIPPING_STORED_SQL, WRITE_NEW_EVENTS_SQL } from './event-writer.sql';

const UNIQUE_VIOLATION = '23505';
/** Postgres could not read the batch as JSON. */
const INVALID_TEXT = '22P02';

export type StreamEntry = [id: string, fields: string[]];

export interface ShardEntries {
  shard: number;
  entries: StreamEntry[];
}

/**
 * Writes stream entries of every shard to Postgres in one transaction, then asks for a
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
    const entries = batches.flatMap((b) => b.entries);
    if (entries.length === 0) return 0;
    const { events, old } = await this.store(entries);
    this.metrics.persisted.inc(events);
    await this.requestRecomputes(old);
    return events;
  }

  /**
   * Each entry holds a JSON array of events; they go to Postgres joined into one array,
   * never parsed here. A conflict aborts the transaction, and the batch is written again
   * skipping what is stored.
   */
  private async store(entries: StreamEntry[]): Promise<WriteResult> {
    try {
      return await this.run(WRITE_NEW_EVENTS_SQL, entries);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === UNIQUE_VIOLATION) {
        this.logger.debug('a batch held events already stored; writing it skipping those');
        return this.run(WRITE_EVENTS_SKIPPING_STORED_SQL, entries);
      }
      if (code === INVALID_TEXT) {
        return this.run(WRITE_EVENTS_SKIPPING_STORED_SQL, readable(entries, this.logger));
      }
      throw error;
    }
  }

  private async run(sql: string, entries: StreamEntry[]): Promise<WriteResult> {
    if (entries.length === 0) return { events: 0, old: [] };
    const json = batchJson(entries);
    const { ms, maxLatenessMs, graceMs } = this.config.window;
    // Any event of a window past max lateness is older than this; the exact test follows.
    const oldBeforeMs = Date.now() - (maxLatenessMs - graceMs);
    // One batch holds many tenants' events: the system path, in one transaction.
    const [row] = await this.systemDb.runAcrossTenants((manager) =>
      manager.query<WriteResult[]>(sql, [json, ms, oldBeforeMs]),
    );
    return row;
  }

  /**
   * A window past max lateness (less the grace, for clock skew between this process
   * and Redis) is owned by Postgres: any event committed for it triggers a recompute
   * from raw events, which is exact whatever order the commits happened in.
   */
  private async requestRecomputes(old: OldWindow[]): Promise<void> {
    const { ms, maxLatenessMs, graceMs } = this.config.window;
    const now = Date.now();
    const byShard = new Map<number, string[]>();
    for (const w of old) {
      if (!isBeyondLateness(w.windowStartMs + ms, maxLatenessMs - graceMs, now)) continue;
      const shard = shardOf(w.tenantId, w.customerId, this.config.shards);
      const keys = byShard.get(shard) ?? [];
      keys.push(this.layout.windowKey({ shard, ...w }));
      byShard.set(shard, keys);
    }
    if (byShard.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [shard, keys] of byShard) {
      pipeline.zadd(this.layout.recomputeIndex(shard), ...keys.flatMap((key) => [now, key]));
    }
    await execAll(pipeline);
  }
}

interface OldWindow {
  tenantId: string;
  customerId: string;
  windowStartMs: number;
}

interface WriteResult {
  events: number;
  /** (tenant, customer, window) of events old enough to be past max lateness. */
  old: OldWindow[];
}

function eventsOf(fields: string[]): string {
  return fields[fields.indexOf('e') + 1];
}

/** The entries' JSON arrays of events as one array, joined as text (never parsed). */
export function batchJson(entries: StreamEntry[]): string {
  return `[${entries.map(([, fields]) => eventsOf(fields).slice(1, -1)).join(',')}]`;
}

/**
 * Only this service writes the stream, so an entry Postgres cannot read is a bug, not
 * input; it is logged and skipped rather than holding every other event back.
 */
function readable(entries: StreamEntry[], logger: Logger): StreamEntry[] {
  return entries.filter(([id, fields]) => {
    try {
      JSON.parse(eventsOf(fields));
      return true;
    } catch {
      logger.error(`stream entry ${id} is unreadable and is skipped`);
      return false;
    }
  });
}
