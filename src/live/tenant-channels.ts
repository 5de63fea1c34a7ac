import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { REDIS, SUBSCRIBER_REDIS } from '../infra/redis/redis.tokens';
import { isAfter, ORIGIN_ID } from './event-id';
import type { LiveEvent } from './live-event';
import { LiveKeys } from '../infra/redis/redis-keys';
import type { StreamClient } from './stream-client';
import { StreamHistory } from './stream-history';

/** This instance's streams of one tenant, fed by one subscription to the tenant's channel. */
export interface TenantGroup {
  tenantId: string;
  channel: string;
  clients: Set<StreamClient>;
  /** Streams being opened: the group must not be reaped under them. */
  opening: number;
  /** Subscribed, history touched, tenant marked watched. */
  ready: Promise<void>;
  /** The last event dispatched from the channel: where a catch-up after a reconnect starts. */
  position: string;
  /** Catching up after the subscriber reconnected: channel messages wait here. */
  backlog: LiveEvent[][] | null;
  /** The subscriber reconnected again during the catch-up: it reads the history once more. */
  readAgain: boolean;
}

/** What the hub does with what the channels bring. */
export interface ChannelListener {
  /** A batch of the tenant's events, in history order. */
  deliver(group: TenantGroup, events: LiveEvent[]): void;
  /** The history no longer reaches back to the group's position; it goes on from its head. */
  lost(group: TenantGroup): void;
}

/** History entries read per round trip when catching up. */
export const HISTORY_PAGE = 200;

/** The pause before a catch-up read that failed is tried again. */
export const CATCH_UP_RETRY_MS = 500;

/**
 * One Redis subscription per tenant this instance serves streams of (never one per
 * stream), on the instance's one subscriber connection; and, after that connection was
 * lost, the catch-up from each tenant's history.
 */
@Injectable()
export class TenantChannels {
  private readonly logger = new Logger(TenantChannels.name);
  private readonly groups = new Map<string, TenantGroup>();
  private readonly byChannel = new Map<string, TenantGroup>();
  private readonly keys: LiveKeys;
  private listener?: ChannelListener;
  private everReady = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(SUBSCRIBER_REDIS) private readonly subscriber: Redis,
    private readonly history: StreamHistory,
  ) {
    this.keys = new LiveKeys(config.redisKeyPrefix);
  }

  all(): IterableIterator<TenantGroup> {
    return this.groups.values();
  }

  of(tenantId: string): TenantGroup | undefined {
    return this.groups.get(tenantId);
  }

  /** The tenant's group, created (and its subscription started: await `ready`) if needed. */
  join(tenantId: string, listener: ChannelListener): TenantGroup {
    this.listen(listener);
    const existing = this.groups.get(tenantId);
    if (existing) return existing;
    const channel = this.keys.channel(tenantId);
    const group: TenantGroup = {
      tenantId,
      channel,
      clients: new Set(),
      opening: 0,
      ready: Promise.resolve(),
      position: ORIGIN_ID,
      backlog: null,
      readAgain: false,
    };
    group.ready = this.setUp(group).catch((error: unknown) => {
      this.forget(group);
      throw error;
    });
    this.groups.set(tenantId, group);
    this.byChannel.set(channel, group);
    return group;
  }

  /** Unsubscribes a group no stream uses (nor is being opened on); true if it did. */
  reapIfIdle(group: TenantGroup): boolean {
    if (group.clients.size > 0 || group.opening > 0) return false;
    this.forget(group);
    void this.subscriber.unsubscribe(group.channel).catch(() => undefined);
    return true;
  }

  get size(): number {
    return this.groups.size;
  }

  /**
   * Tells producers that someone watches these tenants (usage-feed.ts works only for
   * them), for the history's span after the last stream left, so a resume finds it whole.
   */
  async markWatched(tenants: string[]): Promise<void> {
    if (tenants.length === 0) return;
    const ms = this.config.live.historyMs + 3 * this.config.live.heartbeatMs;
    const pipeline = this.redis.pipeline();
    for (const tenantId of tenants) pipeline.set(this.keys.watched(tenantId), '1', 'PX', ms);
    await pipeline.exec();
  }

  private async setUp(group: TenantGroup): Promise<void> {
    await this.subscriber.subscribe(group.channel);
    group.position = await this.history.touch(group.tenantId);
    await this.markWatched([group.tenantId]);
  }

  private forget(group: TenantGroup): void {
    if (this.groups.get(group.tenantId) === group) this.groups.delete(group.tenantId);
    if (this.byChannel.get(group.channel) === group) this.byChannel.delete(group.channel);
  }

  private listen(listener: ChannelListener): void {
    if (this.listener) return;
    this.listener = listener;
    this.subscriber.on('message', (channel: string, message: string) => {
      const group = this.byChannel.get(channel);
      if (!group) return;
      try {
        this.dispatch(group, JSON.parse(message) as LiveEvent[]);
      } catch (error) {
        this.logger.warn(`live message on ${channel} failed: ${(error as Error).message}`);
      }
    });
    // After a reconnect, what was published meanwhile never arrives: read it from the
    // history once the subscriptions are back (ioredis resubscribes; asking again makes
    // sure they are active before the read starts).
    this.subscriber.on('ready', () => {
      if (!this.everReady) {
        this.everReady = true;
        return;
      }
      for (const group of this.groups.values()) void this.catchUp(group);
    });
  }

  /** A batch from the channel, unless a catch-up is under way (then it waits). */
  private dispatch(group: TenantGroup, events: LiveEvent[]): void {
    if (group.backlog) group.backlog.push(events);
    else this.deliver(group, events);
  }

  /**
   * Hands the listener the events after the group's position, and moves it. A catch-up
   * reads from the history what the channel also brought (its backlog, delivered after
   * it): passed on, those would reach the streams in step with the group, which take a
   * batch whole, a second time.
   */
  private deliver(group: TenantGroup, events: LiveEvent[]): void {
    const first = events.findIndex((e) => isAfter(e.id, group.position));
    if (first < 0) return;
    const fresh = first === 0 ? events : events.slice(first);
    // The group's position is still the previous one while the listener runs.
    this.listener?.deliver(group, fresh);
    group.position = fresh[fresh.length - 1].id;
  }

  /**
   * Reads what the channel missed from the history, until that succeeds or the group is
   * gone; channel messages wait meanwhile (`deliver` passes on only what is new).
   * Giving up would leave the group's streams without those events and without a reset.
   */
  private async catchUp(group: TenantGroup): Promise<void> {
    if (group.backlog) {
      group.readAgain = true;
      return;
    }
    const backlog: LiveEvent[][] = [];
    group.backlog = backlog;
    for (let failures = 0; this.groups.get(group.tenantId) === group;) {
      group.readAgain = false;
      try {
        await this.readMissed(group);
        if (!group.readAgain) break;
      } catch (error) {
        if (failures++ === 0) {
          this.logger.warn(
            `live catch-up for a tenant failed, retrying: ${(error as Error).message}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS).unref());
      }
    }
    group.backlog = null;
    for (const events of backlog) this.deliver(group, events);
  }

  private async readMissed(group: TenantGroup): Promise<void> {
    await this.subscriber.subscribe(group.channel);
    for (;;) {
      const page = await this.history.after(group.tenantId, group.position, HISTORY_PAGE);
      if (page.gap) {
        group.position = await this.history.touch(group.tenantId);
        this.listener?.lost(group);
        return;
      }
      this.deliver(group, page.events);
      if (page.events.length < HISTORY_PAGE) return;
    }
  }
}
