import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { defineScript, type ScriptCommand } from '../infra/redis/define-script';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { REDIS } from '../infra/redis/redis.tokens';
import { Metrics } from '../infra/metrics/metrics';
import { WindowKeys } from '../infra/redis/redis-keys';
import { CLAIM_EPOCH_LUA } from './redis-epoch.lua';
import { type EpochMarker, lossHorizon, parseMarker } from '../window-store';
import { type EpochRecord, RedisEpochRepository } from './redis-epoch.repository';

/** A concurrent detector can move the row between our read and our write; then we look again. */
const MAX_ATTEMPTS = 5;

/**
 * Detects a Redis that lost its data (restart without AOF, failover to an empty replica,
 * FLUSHALL): an epoch marker, written once with a random id and never expiring, must hold
 * the epoch Postgres recorded. Every instance checks it every REDIS_EPOCH_CHECK_MS; the
 * first to find it gone or different starts a new epoch in Redis and records the change
 * in Postgres, which makes every window the loss touched Postgres-owned and asks for the
 * recovery (EpochRecovery). An instance started after the loss finds it the same way: the
 * row names an epoch Redis no longer holds. See docs/reliability/redis-data-loss.md.
 */
@Injectable()
export class RedisEpoch implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RedisEpoch.name);
  private readonly claimCommand: ScriptCommand<string>;
  private record?: EpochRecord;
  private checking?: Promise<void>;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly layout: WindowKeys,
    private readonly repository: RedisEpochRepository,
    private readonly metrics: Metrics,
  ) {
    this.claimCommand = defineScript(redis, 'tallyClaimEpoch', CLAIM_EPOCH_LUA);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.config.redisEpochCheckMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  /**
   * Whether a marker value read from Redis is the epoch this instance knows. The closer
   * reads the marker in the same transaction as the hashes it flushes: if it matches, the
   * hashes belong to this epoch, and ownedBeforeMs says which of them are complete.
   */
  holds(markerValue: string | null): boolean {
    const marker = parseMarker(markerValue);
    return marker !== null && marker.id === this.record?.epochId;
  }

  /** Windows starting before this are owned by Postgres since the last loss; null: none are. */
  ownedBeforeMs(): number | null {
    return this.record?.ownedBeforeMs ?? null;
  }

  /** One check at a time; a failure (Redis or Postgres away) is logged and retried next tick. */
  check(): Promise<void> {
    this.checking ??= this.compare()
      .catch((error: Error) => this.logger.warn(`epoch check failed: ${error.message}`))
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async compare(): Promise<void> {
    let marker = parseMarker(await this.redis.get(this.layout.epochMarker()));
    if (marker && marker.id === this.record?.epochId) return;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const recorded = await this.repository.current();
      if (!recorded) {
        // The first start ever: this epoch is where the data begins; nothing was lost.
        marker ??= await this.claim('');
        await this.repository.recordFirst(marker.id, marker.startedAtMs);
      } else if (marker?.id === recorded.epochId) {
        return this.adopt(recorded, false);
      } else {
        const next = await this.successorOf(recorded, marker);
        // The marker was read before the row: another instance may have claimed and
        // recorded an epoch in between (a first start, or a loss it saw first). Redis
        // holding the recorded epoch is no loss, or one that instance has recorded.
        if (next.id === recorded.epochId) return this.adopt(recorded, false);
        const changed = await this.repository.change(
          recorded.epochId,
          next,
          lossHorizon(next.startedAtMs, this.config),
        );
        if (changed) return this.adopt(changed, true, recorded);
      }
      // Another instance moved the row or the marker meanwhile: look at both again.
      marker = parseMarker(await this.redis.get(this.layout.epochMarker()));
    }
    throw new Error('the epoch kept changing under this instance; checking again next tick');
  }

  /**
   * Redis does not hold the recorded epoch. A marker started after it is a successor that
   * another detector set and has not recorded yet: take it. Anything else (no marker, or
   * an older one: a Redis back from an old state) is replaced by a new epoch, unless a
   * concurrent detector replaced it first, whose epoch is then taken.
   */
  private async successorOf(
    recorded: EpochRecord,
    marker: EpochMarker | null,
  ): Promise<EpochMarker> {
    if (marker && marker.startedAtMs > recorded.startedAtMs) return marker;
    return this.claim(marker?.raw ?? '');
  }

  private async claim(expected: string): Promise<EpochMarker> {
    const value = await this.claimCommand(1, this.layout.epochMarker(), expected, randomUUID());
    const marker = parseMarker(value);
    if (!marker) throw new Error(`the epoch marker holds something else: ${value}`);
    return marker;
  }

  /**
   * `changedHere`: this instance recorded the change. Either way, an instance that knew the
   * previous epoch has seen a loss; one that just started and finds the change done has not.
   */
  private adopt(record: EpochRecord, changedHere: boolean, lost = this.record): void {
    const known = this.record;
    this.record = record;
    this.metrics.redisEpochStart.set(record.startedAtMs / 1000);
    if (!lost || lost.epochId === record.epochId || (!changedHere && !known)) return;
    this.metrics.redisDataLoss.inc();
    this.logger.error(
      `Redis lost its data: epoch ${lost.epochId} is gone, now ${record.epochId}; ` +
        `windows from ${iso(record.recoverFromMs)} to ${iso(record.ownedBeforeMs)} ` +
        `are owned by Postgres and recomputed from raw events`,
    );
  }
}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}
