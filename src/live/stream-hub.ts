import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { CLOCK, type Clock } from '../common/clock';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Metrics } from '../infra/metrics/metrics';
import { Authenticator } from '../auth';
import type { Principal } from '../common/access/principal';
import { isAfter } from './event-id';
import type { LiveEvent } from './live-event';
import {
  controlFrame,
  eventFrame,
  HEARTBEAT_FRAME,
  positionFrame,
  RECONNECT_MS,
  SLOW_RECONNECT_MS,
} from './sse';
import { StreamClient } from './stream-client';
import { StreamHistory } from './stream-history';
import { StreamSlots } from './stream-slots';
import {
  type ChannelListener,
  CATCH_UP_RETRY_MS,
  HISTORY_PAGE,
  TenantChannels,
  type TenantGroup,
} from './tenant-channels';

export interface OpenRequest {
  principal: Principal;
  customers: ReadonlySet<string> | null;
  lastEventId?: string;
  /**
   * Takes the response over from the framework, once nothing can fail with a problem
   * any more; with the headers the request has collected (request id, rate limits).
   */
  takeOver: () => {
    response: ServerResponse;
    headers: Record<string, string | string[] | number | undefined>;
  };
}

type DropReason = 'slow' | 'revoked';

/**
 * The instance's side of the stream: fan-out of each published batch (TenantChannels) to
 * the tenant's streams here, resumes from the history, heartbeats, the slow-stream bound
 * and the per-tenant cap. docs/live.md.
 *
 * A stream's socket is written directly (the controller hijacks the reply): Nest's @Sse
 * would run the route through RxJS, and its stream writes whatever the observable emits
 * with no bound, where this needs `writableLength` to drop a stream that stops reading.
 */
@Injectable()
export class StreamHub implements OnModuleInit, BeforeApplicationShutdown, ChannelListener {
  private readonly logger = new Logger(StreamHub.name);
  /** Streams with chunks queued in this turn of the event loop. */
  private readonly unsent = new Set<StreamClient>();
  private heartbeat?: NodeJS.Timeout;
  private sequence = 0;
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly channels: TenantChannels,
    private readonly history: StreamHistory,
    private readonly slots: StreamSlots,
    private readonly authenticator: Authenticator,
    private readonly metrics: Metrics,
    private readonly http: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    this.metrics.watchLiveBuffers(() => this.bufferedBytes());
    // Before Fastify waits for open connections to end: streams never end on their own.
    const fastify = this.http.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('preClose', (done) => {
      this.closeAll();
      done();
    });
  }

  beforeApplicationShutdown(): void {
    this.closeAll();
  }

  /** Bytes handed to this instance's streams and not yet sent. */
  bufferedBytes(): number {
    let total = 0;
    for (const group of this.channels.all()) for (const c of group.clients) total += c.buffered;
    return total;
  }

  /** Opens a stream on `response`, which the caller has taken over from the framework. */
  async open(request: OpenRequest): Promise<void> {
    if (this.stopping) {
      throw new DomainError(ErrorCode.Unavailable, 'This instance is shutting down.', {
        retryAfterSeconds: 1,
      });
    }
    const { principal } = request;
    const member = `${this.config.instanceId}:${++this.sequence}`;
    const acquired = await this.slots.acquire(principal.tenantId, member).catch(unavailable);
    if (!acquired) {
      throw new DomainError(
        ErrorCode.RateLimited,
        `The tenant has ${this.config.live.maxStreamsPerTenant} streams open, its limit; ` +
          'close one or retry later.',
        { retryAfterSeconds: Math.ceil(this.config.live.heartbeatMs / 1000) },
      );
    }
    const group = this.channels.join(principal.tenantId, this);
    group.opening++;
    let start: string;
    try {
      await group.ready;
      // Marked at every open, not only when the group starts: producers must know at
      // once, even if the mark was lost meanwhile (expired, or Redis lost its data).
      const [head] = await Promise.all([
        this.history.touch(principal.tenantId),
        this.channels.markWatched([principal.tenantId]),
      ]);
      start = request.lastEventId ?? head;
    } catch (error) {
      void this.slots.release(principal.tenantId, member).catch(() => undefined);
      group.opening--;
      this.channels.reapIfIdle(group);
      return unavailable(error);
    }
    // From here to the stream joining its group nothing waits, so the group cannot be reaped.
    group.opening--;
    const { response, headers } = request.takeOver();
    const client = new StreamClient(
      member,
      principal,
      request.customers,
      response,
      this.config.live.clientBufferBytes,
      start,
    );
    this.start(client, response, headers, !request.lastEventId, group);
  }

  private start(
    client: StreamClient,
    response: ServerResponse,
    headers: Record<string, string | string[] | number | undefined>,
    fresh: boolean,
    group: TenantGroup,
  ): void {
    response.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // nginx: pass each event through as it comes (deploy/nginx/nginx.conf also says so).
      'x-accel-buffering': 'no',
    });
    // A fresh stream is told where it starts, so that even a reconnect before its first
    // event resumes instead of starting over.
    response.write(`retry: ${RECONNECT_MS}\n\n${fresh ? positionFrame(client.position) : ''}`);
    group.clients.add(client);
    this.metrics.liveStreams.inc();
    response.on('close', () => this.forget(client, group));
    this.ensureHeartbeat();
    void this.catchUp(client);
  }

  /**
   * Replays until it succeeds or the stream ends. A stream whose catch-up read meets a
   * Redis outage stays open, as every open stream does (a browser's EventSource would not
   * reconnect after the 503 new streams get meanwhile); what arrives is held to the
   * stream's bound, and the replay resumes from its position when Redis answers.
   */
  private async catchUp(client: StreamClient): Promise<void> {
    for (let failures = 0; !client.closed; failures++) {
      try {
        return await this.replay(client);
      } catch (error) {
        if (failures === 0) {
          this.logger.warn(`stream replay failed, retrying: ${(error as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS).unref());
      }
    }
  }

  /** Sends what the stream missed since its position, then what arrived meanwhile. */
  private async replay(client: StreamClient): Promise<void> {
    for (;;) {
      const page = await this.history.after(client.tenantId, client.position, HISTORY_PAGE);
      if (client.closed) return;
      if (page.gap) {
        await this.reset(client);
        break;
      }
      const chunk = this.chunkFor(client, page.events);
      if (chunk && !client.write(chunk)) return this.drop(client, 'slow');
      if (page.events.length < HISTORY_PAGE) break;
      await client.drained();
    }
    const held = client.takeHeld();
    client.replaying = false;
    const chunk = this.chunkFor(client, held);
    if (chunk) this.send(client, chunk);
  }

  /** The history no longer reaches back to the stream's position: it must re-read state. */
  private async reset(client: StreamClient): Promise<void> {
    // The head is read after the gap was seen: the events up to it are what the client
    // must re-read as state; the events after it come as usual.
    this.sendReset(client, await this.history.touch(client.tenantId));
  }

  private sendReset(client: StreamClient, head: string): void {
    client.position = head;
    client.told = head;
    const frame = controlFrame('reset', {
      id: head,
      time: this.now(),
      data: { reason: 'history-gap', detail: 'Events were missed; read the current state again.' },
    });
    this.send(client, frame);
  }

  /**
   * The frames of the events after the stream's position that it asked for, as one
   * chunk (the batch's shared buffer when it takes all of it); moves its position.
   */
  private chunkFor(
    client: StreamClient,
    events: LiveEvent[],
    shared?: () => Buffer,
  ): string | Buffer | null {
    if (client.closed) return null;
    const fresh = events.filter((e) => isAfter(e.id, client.position));
    if (fresh.length === 0) return null;
    client.position = fresh[fresh.length - 1].id;
    const wanted =
      fresh.length === events.length && client.wantsAll
        ? fresh
        : fresh.filter((e) => client.wants(e));
    if (wanted.length === 0) return null;
    client.told = wanted[wanted.length - 1].id;
    for (const e of wanted) this.metrics.liveEventsSent.inc({ type: e.type });
    return shared && wanted.length === events.length ? shared() : wanted.map(eventFrame).join('');
  }

  /**
   * Queues a chunk for the stream, written with everything else queued in this turn of
   * the event loop. Messages read from Redis in one socket read arrive in one turn, and
   * Node sends a response's writes of one turn together at its end: checking the bound at
   * the write would count this turn's own chunks as the client's backlog.
   */
  private send(client: StreamClient, chunk: string | Buffer): void {
    client.queue(chunk);
    this.unsent.add(client);
    if (this.unsent.size === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const clients = [...this.unsent];
    this.unsent.clear();
    for (const client of clients) if (!client.flush()) this.drop(client, 'slow');
  }

  /** Writes a batch to every stream of the tenant here; streams still replaying hold it. */
  deliver(group: TenantGroup, events: LiveEvent[]): void {
    const previous = group.position;
    const last = events[events.length - 1].id;
    let frames: string | undefined;
    const text = () => (frames ??= events.map(eventFrame).join(''));
    // One buffer for every stream that takes the whole batch: encoded once, written N times.
    let buffer: Buffer | undefined;
    const shared = () => (buffer ??= Buffer.from(text()));
    let whole = 0;
    for (const client of group.clients) {
      if (client.replaying) {
        if (!client.hold(events, text().length)) this.drop(client, 'slow');
      } else if (client.wantsAll && client.position === previous) {
        // The usual case, and the cheap one: in step with the channel, asking for everything.
        client.position = last;
        client.told = last;
        this.send(client, shared());
        whole++;
      } else {
        const chunk = this.chunkFor(client, events, shared);
        if (chunk) this.send(client, chunk);
      }
    }
    if (whole > 0) for (const e of events) this.metrics.liveEventsSent.inc({ type: e.type }, whole);
  }

  /**
   * The channel's catch-up found the history no longer reaches back to the group's
   * position (Redis lost its data). Each stream reads its own way back instead of being
   * reset: one that began after the loss is still covered by the history and gets what it
   * missed; the others find the gap and are reset.
   */
  lost(group: TenantGroup): void {
    for (const client of group.clients) {
      if (client.replaying) continue;
      client.replaying = true;
      void this.catchUp(client);
    }
  }

  private forget(client: StreamClient, group: TenantGroup): void {
    if (!group.clients.delete(client)) return;
    client.closed = true;
    this.metrics.liveStreams.dec();
    void this.slots.release(client.tenantId, client.id).catch(() => undefined);
  }

  private drop(client: StreamClient, reason: DropReason): void {
    if (client.closed) return;
    const detail =
      reason === 'slow'
        ? 'The stream fell too far behind (LIVE_CLIENT_BUFFER_BYTES); resume with Last-Event-ID.'
        : 'The credential of this stream is no longer valid.';
    client.end(
      controlFrame('dropped', {
        time: this.now(),
        data: { reason, detail },
        retryMs: reason === 'slow' ? SLOW_RECONNECT_MS : undefined,
      }),
    );
    this.metrics.liveStreamsDropped.inc({ reason });
    const group = this.channels.of(client.tenantId);
    if (group) this.forget(client, group);
  }

  private ensureHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => void this.beat(), this.config.live.heartbeatMs);
  }

  /**
   * Every LIVE_HEARTBEAT_SECONDS: a comment on each stream (and its position when
   * filtering has moved it past the last id it was told), leases and marks renewed,
   * credentials checked again, idle subscriptions dropped.
   */
  private async beat(): Promise<void> {
    for (const group of [...this.channels.all()]) {
      if (this.channels.reapIfIdle(group)) continue;
      for (const client of group.clients) {
        const moved = !client.replaying && client.position !== client.told;
        this.send(
          client,
          moved ? `${HEARTBEAT_FRAME}${positionFrame(client.position)}` : HEARTBEAT_FRAME,
        );
        if (moved) client.told = client.position;
      }
    }
    if (this.channels.size === 0) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
      return;
    }
    const groups = [...this.channels.all()];
    const tenants = groups.map((g) => g.tenantId);
    await Promise.all([
      this.channels.markWatched(tenants),
      ...tenants.map((t) => this.history.touch(t)),
      ...groups.map((g) =>
        this.slots.renew(
          g.tenantId,
          [...g.clients].map((c) => c.id),
        ),
      ),
      this.recheckCredentials(),
    ]).catch((error: Error) => this.logger.warn(`live heartbeat: ${error.message}`));
  }

  private async recheckCredentials(): Promise<void> {
    const byKey = new Map<string, StreamClient[]>();
    for (const group of this.channels.all()) {
      for (const client of group.clients) {
        const list = byKey.get(client.principal.keyId) ?? [];
        list.push(client);
        byKey.set(client.principal.keyId, list);
      }
    }
    for (const clients of byKey.values()) {
      const refused = await this.authenticator.recheck(clients[0].principal).then(
        () => false,
        (error: unknown) => error instanceof DomainError,
      );
      if (refused) for (const client of clients) this.drop(client, 'revoked');
    }
  }

  /** Shutdown: end every stream; browsers reconnect, through the load balancer, elsewhere. */
  private closeAll(): void {
    this.stopping = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const group of this.channels.all()) {
      for (const client of group.clients) client.end(': shutting down\n\n');
    }
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function unavailable(error: unknown): never {
  if (error instanceof DomainError) throw error;
  throw new DomainError(ErrorCode.Unavailable, 'The live stream is unavailable; retry.', {
    retryAfterSeconds: 1,
  });
}
