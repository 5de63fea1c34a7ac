import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** Every series the service exposes at /metrics; one registry per app instance. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'tally_events_total',
    help: 'Metering events by outcome: accepted, duplicate, rejected (validation)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
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

  readonly persisted = new Counter({
    name: 'tally_persisted_events_total',
    help: 'Events written to Postgres by the persistence worker',
    registers: [this.registry],
  });

  readonly flushes = new Counter({
    name: 'tally_window_flushes_total',
    help: 'Window rows written, by source: redis (hash flush) or raw (recompute)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly flushDuration = new Histogram({
    name: 'tally_window_flush_duration_seconds',
    help: 'Time to close one shard (read hashes, upsert, release, publish)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly lockAttempts = new Counter({
    name: 'tally_lock_attempts_total',
    help: 'Redlock attempts by lock kind and outcome: acquired, busy (held elsewhere)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly lockWait = new Histogram({
    name: 'tally_lock_wait_seconds',
    help: 'Time to acquire (or give up on) a lock, by kind',
    labelNames: ['kind'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly lockHold = new Histogram({
    name: 'tally_lock_hold_seconds',
    help: 'Time a lock was held, by kind',
    labelNames: ['kind'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tally_' });
  }
}
