import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { isInvalidText, isUniqueViolation } from '../infra/database/pg-errors';
import { SystemDatabase } from '../infra/database/system-database';
import { Metrics } from '../infra/metrics/metrics';
import { EPOCH_LOCK_KEY } from '../redis-epoch';
import {
  batchJson,
  isBeyondLateness,
  readableEntries,
  type ShardEntries,
  type StreamEntry,
  WindowIndexes,
} from '../window-store';
import {
  EPOCH_WRITE_LOCK_SQL,
  WRITE_EVENTS_SKIPPING_STORED_SQL,
  WRITE_NEW_EVENTS_SQL,
} from './event-writer.sql';

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
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly indexes: WindowIndexes,
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
      if (isUniqueViolation(error)) {
        this.logger.debug('a batch held events already stored; writing it skipping those');
        return this.run(WRITE_EVENTS_SKIPPING_STORED_SQL, entries, epochId);
      }
      if (isInvalidText(error)) {
        const readable = readableEntries(entries, (id) =>
          this.logger.error(`stream entry ${id} is unreadable and is skipped`),
        );
        return this.run(WRITE_EVENTS_SKIPPING_STORED_SQL, readable, epochId);
      }
      throw error;
    }
  }

  private async run(sql: string, entries: StreamEntry[], epochId: string): Promise<WriteResult> {
    if (entries.length === 0) return { events: 0, old: [], ownedBeforeMs: null };
    const json = batchJson(entries);
    const { ms, maxLatenessMs, graceMs } = this.config.window;
    // Any event of a window past max lateness is older than this; the exact test follows.
    const oldBeforeMs = this.clock.now() - (maxLatenessMs - graceMs);
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
    const now = this.clock.now();
    await this.indexes.requestRecompute(
      old
        .filter((w) => {
          const touchedByLoss = ownedBeforeMs !== null && w.windowStartMs < ownedBeforeMs;
          return (
            touchedByLoss || isBeyondLateness(w.windowStartMs + ms, maxLatenessMs - graceMs, now)
          );
        })
        .map((w) => ({ ...w, atMs: Math.max(now, w.windowStartMs + ms + graceMs) })),
    );
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
