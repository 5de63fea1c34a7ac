import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { labelledCounter, labelledHistogram } from './labelled';

/** What the pool gauges read from a `pg` Pool, at scrape time. */
export interface PoolStats {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options: { readonly max?: number };
}

// The values each label takes (labelled.ts: every combination is exported from the start).
const EVENT_OUTCOMES = ['accepted', 'duplicate', 'rejected'] as const;
const LATE_HORIZONS = ['within', 'beyond'] as const;
const FLUSH_SOURCES = ['redis', 'raw'] as const;
const LOCK_KINDS = ['closer', 'recovery'] as const;
const LOCK_OUTCOMES = ['acquired', 'busy'] as const;
const QUOTA_DECISION_KINDS = ['consume', 'api_key_requests', 'api_key_events'] as const;
const QUOTA_DECISION_OUTCOMES = ['allowed', 'denied', 'failure_open', 'failure_closed'] as const;

export type LockKind = (typeof LOCK_KINDS)[number];
export type QuotaDecisionKind = (typeof QUOTA_DECISION_KINDS)[number];
export type QuotaDecisionOutcome = (typeof QUOTA_DECISION_OUTCOMES)[number];

/**
 * prom-client's default gauges of active handles, requests and resources named `_total`,
 * which promtool flags (a `_total` suffix means a counter). Their per-type siblings
 * (`nodejs_active_handles{type}` …) stay; `sum()` of them is the same number.
 */
const GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const KEY_LOOKUP_OUTCOMES = ['found', 'unknown', 'refused'] as const;
export type KeyLookupOutcome = (typeof KEY_LOOKUP_OUTCOMES)[number];

/** What a replayed spooled event became (the ingest script's outcomes). */
const LIVE_EVENT_TYPES = ['usage.updated', 'window.closed'] as const;
const LIVE_DROP_REASONS = ['slow', 'revoked'] as const;
export const SPOOL_REPLAY_OUTCOMES = ['counted', 'late', 'beyond', 'duplicate'] as const;
export type SpoolReplayOutcome = (typeof SPOOL_REPLAY_OUTCOMES)[number];

/** Seconds; fine below 2.5 ms, where the quota check's target (p99 < 2 ms) sits. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** Up to 30 s: the closer's lock hold is alerted on at LOCK_TTL_MS (10 s by default). */
const LOCK_BUCKETS = [...LATENCY_BUCKETS, 5, 10, 20, 30];

/** HTTP latency by route; also kept by the benchmark's bare baseline, read the same way. */
export function httpDurationHistogram(registry: Registry) {
  return new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
}

/** A Fastify onResponse hook observing each answer under its route pattern and status. */
export function observeHttpDuration(histogram: ReturnType<typeof httpDurationHistogram>) {
  // Each series bound once: prom-client hashes a label object on every unbound observe.
  const series = new Map<string, { observe(seconds: number): void }>();
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    // Fastify builds routeOptions anew on each read.
    const { config, url } = request.routeOptions;
    // A stream's duration is no latency (and it is seen only when the server ends it).
    if (!(config as { longLived?: boolean } | undefined)?.longLived) {
      // The route pattern, not the URL: label values must stay few.
      const route = url ?? 'unmatched';
      const status = String(reply.statusCode);
      const name = `${request.method} ${route} ${status}`;
      let bound = series.get(name);
      if (!bound) {
        bound = histogram.labels({ method: request.method, route, status });
        series.set(name, bound);
      }
      bound.observe(reply.elapsedTime / 1000);
    }
    done();
  };
}

/** Every series the service exposes at /metrics; one registry per app instance. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  /** Postgres pools by name (`watchPool`), read when Prometheus scrapes. */
  private readonly pools = new Map<string, PoolStats>();
  /** The live streams' unsent bytes (`watchLiveBuffers`), read when Prometheus scrapes. */
  private liveBuffered: () => number = () => 0;

  readonly httpDuration = httpDurationHistogram(this.registry);

  readonly events = labelledCounter(this.registry, {
    name: 'tally_events_total',
    help: 'Metering events by outcome: accepted, duplicate, rejected (validation)',
    labels: { outcome: EVENT_OUTCOMES },
  });

  readonly lateEvents = labelledCounter(this.registry, {
    name: 'tally_late_events_total',
    help:
      'Accepted events that arrived after their window closed (end + grace): within max ' +
      'lateness (counted in Redis, window flushed again) or beyond (recomputed from Postgres)',
    labels: { horizon: LATE_HORIZONS },
  });

  readonly batchSize = new Histogram({
    name: 'tally_ingest_batch_events',
    help: 'Events per ingest script call (one shard micro-batch)',
    buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2000],
    registers: [this.registry],
  });

  readonly scriptDuration = new Histogram({
    name: 'tally_ingest_script_duration_seconds',
    help: 'Latency of the ingest Redis script per micro-batch',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly backlog = new Gauge({
    name: 'tally_stream_backlog_entries',
    help: 'Stream entries (micro-batches) accepted but not yet persisted, all shards',
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'tally_stream_consumer_lag_entries',
    help: 'Stream entries not yet read by the persistence consumer group, all shards',
    registers: [this.registry],
  });

  readonly consumerPending = new Gauge({
    name: 'tally_stream_pending_entries',
    help: 'Stream entries read by a consumer but not yet acknowledged (being written, or held by a dead instance), all shards',
    registers: [this.registry],
  });

  readonly persisted = new Counter({
    name: 'tally_persisted_events_total',
    help: 'Events written to Postgres by the persistence worker',
    registers: [this.registry],
  });

  readonly flushes = labelledCounter(this.registry, {
    name: 'tally_window_flushes_total',
    help: 'Window rows written, by source: redis (hash flush) or raw (recompute)',
    labels: { source: FLUSH_SOURCES },
  });

  readonly flushDuration = new Histogram({
    name: 'tally_window_flush_duration_seconds',
    help: 'Time to close one shard (read hashes, upsert, release, publish)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly redisDataLoss = new Counter({
    name: 'tally_redis_data_loss_total',
    help:
      'Redis data losses this instance detected: the epoch marker it knew (or Postgres ' +
      'recorded) was gone or replaced (restart without AOF, failover to an empty replica, FLUSHALL)',
    registers: [this.registry],
  });

  readonly redisEpochStart = new Gauge({
    name: 'tally_redis_epoch_start_time_seconds',
    help: "Start of the current Redis epoch (Unix seconds): when Redis's data last began from nothing",
    registers: [this.registry],
  });

  readonly redisRecoveryPending = new Gauge({
    name: 'tally_redis_recovery_pending',
    help: '1 while the windows a Redis data loss touched are not all recomputed from raw events yet',
    registers: [this.registry],
  });

  readonly redisRecoveryWindows = new Counter({
    name: 'tally_redis_recovery_windows_total',
    help: 'Windows this instance asked to recompute from raw events while recovering from a Redis data loss',
    registers: [this.registry],
  });

  readonly lockAttempts = labelledCounter(this.registry, {
    name: 'tally_lock_attempts_total',
    help: 'Redlock attempts by lock kind and outcome: acquired, busy (held elsewhere)',
    labels: { kind: LOCK_KINDS, outcome: LOCK_OUTCOMES },
  });

  readonly lockWait = labelledHistogram(this.registry, {
    name: 'tally_lock_wait_seconds',
    help: 'Time to acquire (or give up on) a lock, by kind',
    labels: { kind: LOCK_KINDS },
    buckets: LOCK_BUCKETS,
  });

  readonly lockHold = labelledHistogram(this.registry, {
    name: 'tally_lock_hold_seconds',
    help: 'Time a lock was held, by kind',
    labels: { kind: LOCK_KINDS },
    buckets: LOCK_BUCKETS,
  });

  readonly quotaDecisions = labelledCounter(this.registry, {
    name: 'tally_quota_decisions_total',
    help:
      'Quota and API-key rate-limit decisions by kind (consume: customer quotas; api_key_*: ' +
      "a key's own budgets) and outcome (allowed, denied, failure_open/failure_closed: Redis unreachable)",
    labels: { kind: QUOTA_DECISION_KINDS, outcome: QUOTA_DECISION_OUTCOMES },
  });

  readonly spoolBytes = new Gauge({
    name: 'tally_spool_bytes',
    help:
      "Bytes in this instance's spool: events acknowledged while Redis was unreachable and " +
      'not yet replayed, directories adopted from dead instances included',
    registers: [this.registry],
  });

  readonly spooledEvents = new Counter({
    name: 'tally_spool_events_total',
    help: 'Events acknowledged into the spool (fsynced before the 202) because Redis was unreachable',
    registers: [this.registry],
  });

  readonly replayedEvents = labelledCounter(this.registry, {
    name: 'tally_spool_replayed_events_total',
    help:
      'Spooled events replayed through the ingest script, by outcome: counted, duplicate, ' +
      'late (counted, window flushed again), beyond (past max lateness: stored raw, recomputed)',
    labels: { outcome: SPOOL_REPLAY_OUTCOMES },
  });

  readonly replayFailures = new Counter({
    name: 'tally_spool_replay_failures_total',
    help: 'Spool segments whose replay stopped on an error; each is replayed again, whole, later',
    registers: [this.registry],
  });

  readonly spoolDiscardedBytes = new Counter({
    name: 'tally_spool_discarded_bytes_total',
    help:
      "Bytes at a spool segment's end that held no whole record with a valid checksum: a " +
      'write torn by a crash, which was never acknowledged',
    registers: [this.registry],
  });
  readonly liveStreams = new Gauge({
    name: 'tally_live_streams',
    help: 'Live streams (GET /v1/stream) open on this instance',
    registers: [this.registry],
  });

  readonly liveEventsSent = labelledCounter(this.registry, {
    name: 'tally_live_events_sent_total',
    help: 'Events written to live streams, by type (one per stream that received it)',
    labels: { type: LIVE_EVENT_TYPES },
  });

  readonly liveStreamsDropped = labelledCounter(this.registry, {
    name: 'tally_live_streams_dropped_total',
    help:
      'Live streams closed by the server, by reason: slow (more than LIVE_CLIENT_BUFFER_BYTES ' +
      'waiting to be sent), revoked (key revoked or tenant deactivated)',
    labels: { reason: LIVE_DROP_REASONS },
  });

  readonly liveBufferedBytes = (() => {
    const read = () => this.liveBuffered();
    return new Gauge({
      name: 'tally_live_stream_buffered_bytes',
      help:
        "Bytes written to this instance's live streams and not yet sent (each stream at most " +
        'LIVE_CLIENT_BUFFER_BYTES plus one batch before it is dropped)',
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  })();

  readonly keyLookups = labelledCounter(this.registry, {
    name: 'tally_api_key_lookups_total',
    help:
      'API keys looked up in Postgres on a cache miss, by outcome: found, unknown (no such ' +
      "key), refused (the client address's budget of unknown keys was spent; Postgres not asked)",
    labels: { outcome: KEY_LOOKUP_OUTCOMES },
  });

  readonly dbPoolClients = this.poolGauge(
    'tally_db_pool_clients',
    'Postgres connections open, by pool (busy plus idle)',
    (pool) => pool.totalCount,
  );

  readonly dbPoolIdle = this.poolGauge(
    'tally_db_pool_idle_clients',
    'Postgres connections open and idle, by pool',
    (pool) => pool.idleCount,
  );

  readonly dbPoolWaiting = this.poolGauge(
    'tally_db_pool_waiting_requests',
    'Queries waiting for a free Postgres connection, by pool',
    (pool) => pool.waitingCount,
  );

  readonly dbPoolMax = this.poolGauge(
    'tally_db_pool_max_clients',
    'The most connections a pool opens (DATABASE_POOL_SIZE), by pool',
    (pool) => pool.options.max ?? 0,
  );

  constructor() {
    // Unprefixed: process_* and nodejs_* are the names stock dashboards and alerts query.
    collectDefaultMetrics({ register: this.registry });
    for (const name of GAUGES_NAMED_TOTAL) this.registry.removeSingleMetric(name);
  }

  /** Reports the live streams' unsent bytes, read at scrape time. */
  watchLiveBuffers(read: () => number): void {
    this.liveBuffered = read;
  }

  /** Reports a Postgres pool as `name`; its gauges are read at scrape time, so queries pay nothing. */
  watchPool(name: string, pool: PoolStats): void {
    this.pools.set(name, pool);
  }

  private poolGauge(name: string, help: string, read: (pool: PoolStats) => number): Gauge<'pool'> {
    const pools = this.pools;
    return new Gauge({
      name,
      help,
      labelNames: ['pool'] as const,
      registers: [this.registry],
      collect() {
        for (const [pool, stats] of pools) this.set({ pool }, read(stats));
      },
    });
  }
}
