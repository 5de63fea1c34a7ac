import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Redis } from 'ioredis';
import { CLOCK, type Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { execAll } from '../infra/redis/exec-all';
import { REDIS } from '../infra/redis/redis.tokens';
import type { LiveEventInput, UsageUpdate } from './live-event';
import { LiveEvents } from './live-events';
import { LiveKeys } from '../infra/redis/redis-keys';
import { WindowCounters } from './window-counters';

/** A customer with new counts that no usage.updated has carried yet. */
interface Pending {
  tenantId: string;
  customerId: string;
  windowStarts: Set<number>;
  /** Another instance holds the customer's turn until then. */
  notBefore: number;
}

const TIMER = 'live-usage-feed';

/**
 * Turns counted events into `usage.updated`, at most one per customer per
 * LIVE_COALESCE_MS across every instance. The ingest path notes which windows of which
 * customers got new counts (a map update, nothing on the wire); every tick, for tenants
 * someone watches, this instance claims each noted customer's turn in Redis (SET NX PX,
 * so whichever instance claims first sends, and the others wait for the turn to end with
 * their notes kept), reads the claimed windows' running totals and publishes them.
 * Totals, not increments: an update that is coalesced away loses nothing.
 */
@Injectable()
export class UsageFeed implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(UsageFeed.name);
  private readonly pending = new Map<string, Pending>();
  private readonly keys: LiveKeys;
  private readonly coalesceMs: number;
  /** A tenth of the coalescing interval: what a tick adds to an update's delay. */
  private readonly tickMs: number;
  private running?: Promise<void>;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly counters: WindowCounters,
    private readonly events: LiveEvents,
    private readonly scheduler: SchedulerRegistry,
  ) {
    this.keys = new LiveKeys(config.redisKeyPrefix);
    this.coalesceMs = config.live.coalesceMs;
    this.tickMs = Math.min(100, Math.max(10, Math.floor(this.coalesceMs / 10)));
  }

  onApplicationBootstrap(): void {
    this.scheduler.addInterval(
      TIMER,
      setInterval(() => void this.tick(), this.tickMs),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', TIMER)) this.scheduler.deleteInterval(TIMER);
    await this.running;
    // What this instance counted last still gets its update if its turn is free.
    await this.tick();
  }

  /** An event was counted into the window that starts at `windowStartOf(timestampMs)`. */
  note(tenantId: string, customerId: string, timestampMs: number): void {
    const key = `${tenantId}\n${customerId}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { tenantId, customerId, windowStarts: new Set(), notBefore: 0 };
      this.pending.set(key, entry);
    }
    entry.windowStarts.add(this.counters.windowStartOf(timestampMs));
  }

  /** One pass; overlapping ticks are skipped, not queued. */
  async tick(): Promise<void> {
    if (this.running || this.pending.size === 0) return;
    this.running = this.send()
      .catch((error: Error) => this.logger.warn(`usage updates failed: ${error.message}`))
      .finally(() => (this.running = undefined));
    await this.running;
  }

  private async send(): Promise<void> {
    const now = this.clock.now();
    const due = [...this.pending.values()].filter((p) => p.notBefore <= now);
    if (due.length === 0) return;
    const candidates = await this.watchedOnly(due);
    if (candidates.length === 0) return;

    const until = now + this.coalesceMs;
    const claims = this.redis.pipeline();
    for (const p of candidates) {
      claims.set(
        this.keys.usageTurn(p.tenantId, p.customerId),
        String(until),
        'PX',
        this.coalesceMs,
        'NX',
        'GET',
      );
    }
    const held = (await execAll(claims)) as (string | null)[];
    const won: Pending[] = [];
    candidates.forEach((p, i) => {
      if (held[i] === null) {
        won.push(p);
        this.pending.delete(`${p.tenantId}\n${p.customerId}`);
      } else {
        // The holder wrote when its turn ends (its clock; bounded in case clocks disagree).
        const ends = Number(held[i]);
        p.notBefore = Math.min(Number.isFinite(ends) ? ends : until, until);
      }
    });
    if (won.length > 0) {
      await this.publish(won).catch((error: unknown) => {
        // Claimed but not sent: keep the notes for the next turn.
        for (const p of won) for (const start of p.windowStarts) this.restore(p, start, until);
        throw error;
      });
    }
  }

  /** Drops the notes of tenants nobody watches: there is no one to tell. */
  private async watchedOnly(due: Pending[]): Promise<Pending[]> {
    const tenants = [...new Set(due.map((p) => p.tenantId))];
    const flags = await this.redis.mget(tenants.map((t) => this.keys.watched(t)));
    const watched = new Set(tenants.filter((_, i) => flags[i] !== null));
    return due.filter((p) => {
      if (watched.has(p.tenantId)) return true;
      this.pending.delete(`${p.tenantId}\n${p.customerId}`);
      return false;
    });
  }

  private async publish(won: Pending[]): Promise<void> {
    const refs = won.flatMap((p) =>
      [...p.windowStarts]
        .sort((a, b) => a - b)
        .map((windowStartMs) => ({
          tenantId: p.tenantId,
          customerId: p.customerId,
          windowStartMs,
        })),
    );
    const totals = await this.counters.read(refs);
    const byTenant = new Map<string, LiveEventInput[]>();
    let offset = 0;
    for (const p of won) {
      const windows = totals.slice(offset, offset + p.windowStarts.size).filter((w) => w !== null);
      offset += p.windowStarts.size;
      if (windows.length === 0) continue;
      const data: UsageUpdate = { windows };
      const list = byTenant.get(p.tenantId) ?? [];
      list.push({ type: 'usage.updated', customerId: p.customerId, data });
      byTenant.set(p.tenantId, list);
    }
    await Promise.all([...byTenant].map(([tenantId, list]) => this.events.publish(tenantId, list)));
  }

  private restore(p: Pending, windowStart: number, notBefore: number): void {
    const key = `${p.tenantId}\n${p.customerId}`;
    const entry = this.pending.get(key) ?? { ...p, windowStarts: new Set<number>(), notBefore };
    entry.windowStarts.add(windowStart);
    this.pending.set(key, entry);
  }
}
