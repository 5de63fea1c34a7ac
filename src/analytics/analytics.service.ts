import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { decodeCursor, encodeCursor } from '../common/pagination/cursor';
import { instantOf, MIN_INSTANT_MS } from '../common/validation/exact-instant';
import type { TenantScope } from '../infra/database/tenant-scope';
import { bucketBounds, type Granularity, isoInZone, lastBuckets, zoneOf } from './buckets';
import { type DailyParams, type HotQuery, HotQueries, type TopParams } from './hot-queries';
import { type JsonAnswer, render } from './http-caching';
import { OpenWindows } from './open-windows';
import {
  type DailyRow,
  dailyRows,
  type Freshness,
  freshness,
  liveCustomers,
  type LiveWindow,
  type TopRow,
  topRows,
  type UsageAnswer,
  usageRows,
} from './usage-answers';
import type { Dimension, UsageQuery } from './usage-cells';
import { type Sums, UsageEngine } from './usage-engine';
import { UsageRepository } from './usage.repository';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** `from` when not given: this much before `to`. */
const DEFAULT_SPAN_MS: Record<Granularity, number> = {
  minute: HOUR_MS,
  hour: DAY_MS,
  day: 7 * DAY_MS,
  month: 365 * DAY_MS,
};

export interface UsageParams {
  from?: string;
  to?: string;
  granularity: Granularity;
  timezone: string;
  groupBy: Dimension[];
  customerId?: string[];
  endpoint?: string[];
  model?: string[];
}

export interface DailyAnswer extends Freshness {
  from: string;
  to: string;
  timezone: string;
  data: DailyRow[];
}

export interface TopAnswer extends Freshness {
  from: string;
  to: string;
  by: TopParams['by'];
  dimension: Dimension;
  data: TopRow[];
}

export interface LiveAnswer {
  asOf: string;
  data: { customerId: string; windows: LiveWindow[] }[];
}

export interface EventsParams {
  customerId: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

export interface EventView {
  eventId: string;
  timestamp: string;
  customerId: string;
  apiEndpoint: string;
  metadata: Record<string, unknown>;
  receivedAt: string;
}

export interface EventsPage {
  data: EventView[];
  nextCursor: string | null;
}

/** The analysts' reads: parameters into bucketed queries, sums into answers. */
@Injectable()
export class AnalyticsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly engine: UsageEngine,
    private readonly open: OpenWindows,
    private readonly hot: HotQueries,
    private readonly repository: UsageRepository,
  ) {}

  /** GET /v1/usage as an object: what the CSV export writes out. */
  async usage(scope: TenantScope, params: UsageParams, nowMs: number): Promise<UsageAnswer> {
    const query = this.usageQuery(params, nowMs);
    return this.usageAnswer(params, query, await this.engine.sums(scope, query));
  }

  /** GET /v1/usage as sent, rendered or kept (UsageEngine.rendered). */
  async usageJson(scope: TenantScope, params: UsageParams, nowMs: number): Promise<JsonAnswer> {
    const query = this.usageQuery(params, nowMs);
    // `from` and `to` shape the answer only through the bounds, which the query holds: reads
    // with a `to` moving within a bucket (a dashboard's "now") share the kept answer.
    const shape = JSON.stringify(['usage', { ...params, from: undefined, to: undefined }]);
    return this.engine.rendered(scope, query, shape, async (sums) =>
      render(this.usageAnswer(params, query, sums)),
    );
  }

  async daily(scope: TenantScope, params: DailyParams, nowMs: number): Promise<JsonAnswer> {
    const { query, zone } = this.dailyQuery(params, nowMs);
    return this.engine.rendered(scope, query, JSON.stringify(['daily', params]), async (sums) => {
      if (sums.source === 'computed')
        await this.hot.note(scope.tenantId, { kind: 'daily', params }, nowMs);
      return render({
        from: isoInZone(query.bounds[0], zone),
        to: isoInZone(query.bounds.at(-1)!, zone),
        timezone: params.timezone,
        ...freshness(sums),
        data: dailyRows(query, sums.cells, zone),
      } satisfies DailyAnswer);
    });
  }

  async top(scope: TenantScope, params: TopParams, nowMs: number): Promise<JsonAnswer> {
    const query = this.topQuery(params, nowMs);
    return this.engine.rendered(scope, query, JSON.stringify(['top', params]), async (sums) => {
      if (sums.source === 'computed')
        await this.hot.note(scope.tenantId, { kind: 'top', params }, nowMs);
      return render({
        from: new Date(query.bounds[0]).toISOString(),
        to: new Date(query.bounds[1]).toISOString(),
        by: params.by,
        dimension: params.dimension,
        ...freshness(sums),
        data: topRows(sums.cells, params.dimension, params.by, params.limit),
      } satisfies TopAnswer);
    });
  }

  /** Recomputes a hot query's stored part into the cache (the pre-warmer). */
  async warm(scope: TenantScope, hot: HotQuery, nowMs: number): Promise<void> {
    const query =
      hot.kind === 'daily'
        ? this.dailyQuery(hot.params, nowMs).query
        : this.topQuery(hot.params, nowMs);
    await this.engine.warm(scope, query);
  }

  async live(scope: TenantScope, customerId: string | undefined): Promise<LiveAnswer> {
    const read = await this.open
      .read(scope.tenantId, { customerIds: customerId === undefined ? null : [customerId] })
      .catch(() => {
        throw new DomainError(
          ErrorCode.Unavailable,
          'Open windows cannot be read right now; retry shortly.',
          {
            retryAfterSeconds: 1,
          },
        );
      });
    return { asOf: new Date(read.nowMs).toISOString(), data: liveCustomers(read.windows) };
  }

  async events(scope: TenantScope, params: EventsParams, nowMs: number): Promise<EventsPage> {
    const toMs = params.to ? instantOf(params.to) : nowMs;
    // The default span stops at year 1's first instant: before it Postgres reads no time.
    const fromMs = params.from ? instantOf(params.from) : Math.max(toMs - DAY_MS, MIN_INSTANT_MS);
    if (fromMs >= toMs) {
      throw new DomainError(ErrorCode.ValidationFailed, '`from` must be before `to`.', {
        errors: [{ path: '/from', message: 'must be before to' }],
      });
    }
    const after = params.cursor ? decodeCursor(params.cursor, ['timestamp', 'string']) : null;
    const rows = await this.repository.events(scope, {
      customerId: params.customerId,
      fromMs,
      toMs,
      after: after && { tsMs: after[0], eventId: after[1] },
      limit: params.limit + 1,
    });
    const page = rows.slice(0, params.limit);
    const last = page.at(-1);
    return {
      data: page.map((r) => ({
        eventId: r.event_id,
        timestamp: r.ts.toISOString(),
        customerId: r.customer_id,
        apiEndpoint: r.endpoint,
        metadata: r.metadata,
        receivedAt: r.received_at.toISOString(),
      })),
      nextCursor:
        rows.length > params.limit && last
          ? encodeCursor([last.ts.getTime(), last.event_id])
          : null,
    };
  }

  private usageQuery(params: UsageParams, nowMs: number): UsageQuery {
    const zone = zoneOf(params.timezone);
    const toMs = params.to ? instantOf(params.to) : nowMs;
    const fromMs = params.from
      ? instantOf(params.from)
      : toMs - DEFAULT_SPAN_MS[params.granularity];
    if (fromMs >= toMs) {
      throw new DomainError(ErrorCode.ValidationFailed, '`from` must be before `to`.', {
        errors: [{ path: '/from', message: 'must be before to' }],
      });
    }
    return {
      bounds: bucketBounds(fromMs, toMs, params.granularity, zone, this.limits()),
      groupBy: params.groupBy,
      customerIds: params.customerId ?? null,
      endpoints: params.endpoint ?? null,
      models: params.model ?? null,
    };
  }

  private usageAnswer(params: UsageParams, query: UsageQuery, sums: Sums): UsageAnswer {
    const zone = zoneOf(params.timezone);
    return {
      from: isoInZone(query.bounds[0], zone),
      to: isoInZone(query.bounds.at(-1)!, zone),
      granularity: params.granularity,
      timezone: params.timezone,
      groupBy: params.groupBy,
      ...freshness(sums),
      data: usageRows(query, sums.cells, zone),
    };
  }

  /** The current day in the zone and the six before it, by customer. */
  private dailyQuery(params: DailyParams, nowMs: number) {
    const zone = zoneOf(params.timezone);
    const query: UsageQuery = {
      bounds: lastBuckets(nowMs, 7, 'day', zone),
      groupBy: ['customer'],
      customerIds: null,
      endpoints: null,
      models: null,
    };
    return { query, zone };
  }

  /** The current UTC hour and the `hours - 1` before it, as one bucket. */
  private topQuery(params: TopParams, nowMs: number): UsageQuery {
    const hours = lastBuckets(nowMs, params.hours, 'hour', zoneOf('UTC'));
    return {
      bounds: [hours[0], hours.at(-1)!],
      groupBy: [params.dimension],
      customerIds: null,
      endpoints: null,
      models: null,
    };
  }

  private limits() {
    return { windowMs: this.config.window.ms, maxBuckets: this.config.analytics.maxBuckets };
  }
}
