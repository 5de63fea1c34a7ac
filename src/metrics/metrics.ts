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
const LOCK_KINDS = ['closer'] as const;
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
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // The route pattern, not the URL: label values must stay few.
    const route = request.routeOptions.url ?? 'unmatched';
    histogram.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  };
}

/** Every series the service exposes at /metrics; one registry per app instance. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  /** Postgres pools by name (`watchPool`), read when Prometheus scrapes. */
  private readonly pools = new Map<string, PoolStats>();

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
