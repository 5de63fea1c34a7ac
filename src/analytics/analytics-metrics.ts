import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { Metrics } from '../infra/metrics/metrics';

/** Analytics series, on the service's one registry. */
@Injectable()
export class AnalyticsMetrics {
  readonly answers: Counter<'source'>;
  readonly computeSeconds: Histogram;
  readonly bumps: Counter<'outcome'>;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.answers = new Counter({
      name: 'tally_analytics_answers_total',
      help:
        'Usage answers by where their Postgres part came from: kept (the answer itself, rendered ' +
        'earlier on this instance, no window open in its range), local (this instance), redis ' +
        '(shared cache), computed (a miss: rollups read), recent (Redis unreachable, local copy)',
      labelNames: ['source'] as const,
      registers,
    });
    this.computeSeconds = new Histogram({
      name: 'tally_analytics_compute_seconds',
      help: 'Reading an answer from the rollups and windows on a cache miss',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.bumps = new Counter({
      name: 'tally_analytics_version_bumps_total',
      help: 'Version changes after flushes: done, or failed and retried (answers may be stale meanwhile)',
      labelNames: ['outcome'] as const,
      registers,
    });
  }
}
