import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { EPOCH_LOCK_KEY } from '../redis-epoch';
import { WindowKeys } from '../infra/redis/redis-keys';
import { isBeyondLateness, shardOf } from '../window-store';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { SystemDatabase } from '../infra/database/system-database';
import { execAll } from '../infra/redis/exec-all';
import { REDIS } from '../infra/redis/redis.tokens';
import { Metrics } from '../infra/metrics/metrics';
import {
  EPOCH_WRITE_LOCK_SQL,
  WRITE_EVENTS_SKIPPING_STORED_SQL,
  WRITE_NEW_EVENTS_SQL,
} from './event-writer.sql';

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
 * recompute of every window that Redis no longer owns: past max lateness, or touched by
 * a Redis data loss (see docs/consistency.md).
 */
@Injectable()
export class EventWriter {
  private readonly logger = new Logger(EventWriter.name);

  constructor(
    private readonly systemDb: SystemDatabase,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly layout: WindowKeys,
    private readonly metrics: Metrics,
  ) {}

  /**
   * All shards' entries in one transaction; returns the events written. `epochId`: the
   * Redis epoch the entries were read in ('' if Redis held no marker then).
   */
  async write(batches: ShardEntries[], epochId: string): Promise<number> {
    const entries = batches.flatMap((b) => b.entries);
    if (entries.length === 0) return 0;
    const result = await this.store(entries, epochId);
    this.metrics.persisted.inc(result.events);
    await this.requestRecomputes(result);
    return result.events;
  }

  /**
   * Each entry holds a JSON array of events; they go to Postgres joined into one array,
   * never parsed here. A conflict aborts the transaction, and the batch is written again
   * skipping what is stored.
   */
  private async store(entries: StreamEntry[], epochId: string): Promise<WriteResult> {
    try {
      return await this.run(WRITE_NEW_EVENTS_SQL, entries, epochId);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === UNIQUE_VIOLATION) {
        this.logger.debug('a batch held events already stored; writing it skipping those');
        return this.run(WRITE_EVENTS_SKIPPING_STORED_SQL, entries, epochId);
      }
      if (code === INVALID_TEXT) {
        return this.run(WRITE_EVENTS_SKIPPING_STORED_SQL, readable(entries, this.logger), epochId);
      }
      throw error;
    }
  }

  private async run(sql: string, entries: StreamEntry[], epochId: string): Promise<WriteResult> {
    if (entries.length === 0) return { events: 0, old: [], ownedBeforeMs: null };
    const json = batchJson(entries);
    const { ms, maxLatenessMs, graceMs } = this.config.window;
    // Any event of a window past max lateness is older than this; the exact test follows.
    const oldBeforeMs = Date.now() - (maxLatenessMs - graceMs);
    // One batch holds many tenants' events: the system path, in one transaction.
    const [row] = await this.systemDb.runAcrossTenants(async (manager) => {
      await manager.query(EPOCH_WRITE_LOCK_SQL, [EPOCH_LOCK_KEY]);
      return manager.query<WriteResult[]>(sql, [json, ms, oldBeforeMs, epochId]);
    });
    return row;
  }

  /**
   * A window past max lateness (less the grace, for clock skew between this process
   * and Redis), or one a Redis data loss touched (starting before `ownedBeforeMs`), is
   * owned by Postgres: any event committed for it triggers a recompute from raw events,
   * which is exact whatever order the commits happened in. A window not yet due is
   * requested for its end + grace, so it is recomputed once its events are in.
   */
  private async requestRecomputes({ old, ownedBeforeMs }: WriteResult): Promise<void> {
    const { ms, maxLatenessMs, graceMs } = this.config.window;
    const now = Date.now();
    const byShard = new Map<number, (string | number)[]>();
    for (const w of old) {
      const windowEndMs = w.windowStartMs + ms;
      const touchedByLoss = ownedBeforeMs !== null && w.windowStartMs < ownedBeforeMs;
      if (!touchedByLoss && !isBeyondLateness(windowEndMs, maxLatenessMs - graceMs, now)) continue;
      const shard = shardOf(w.tenantId, w.customerId, this.config.shards);
      const requests = byShard.get(shard) ?? [];
      requests.push(Math.max(now, windowEndMs + graceMs), this.layout.windowKey({ shard, ...w }));
      byShard.set(shard, requests);
    }
    if (byShard.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [shard, requests] of byShard) {
      pipeline.zadd(this.layout.recomputeIndex(shard), ...requests);
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
  /** (tenant, customer, window) of events old enough to be past max lateness, or touched by a loss. */
  old: OldWindow[];
  /** redis_epoch.owned_before as the transaction read it; null before any loss. */
  ownedBeforeMs: number | null;
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
