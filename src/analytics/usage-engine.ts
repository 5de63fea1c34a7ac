import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { createHash } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import type { TenantScope } from '../infra/database/tenant-scope';
import { AnalyticsMetrics } from './analytics-metrics';
import type { JsonAnswer, RenderedAnswer } from './http-caching';
import { planSegments } from './bucket-plan';
import { OpenWindows, type OpenWindow, type OpenWindowsRead } from './open-windows';
import { type Cell, CellSums, type UsageQuery } from './usage-cells';
import { type StoredPart, UsageCache } from './usage-cache';
import { UsageRepository, type StoredWindow } from './usage.repository';
import { daysOf, UsageVersions } from './usage-versions';

/** Where an answer's Postgres part came from. */
export type PartSource = 'local' | 'redis' | 'computed' | 'recent';

interface Reads {
  queryDigest: string;
  days: number[];
  /** The digest of the days' versions; null: Redis could not be asked. */
  version: string | null;
  live: OpenWindowsRead | null;
}

export interface Sums {
  cells: Cell[];
  /** The time the counts are true at: Redis time of the open-window read, else when Postgres was read. */
  asOfMs: number;
  /** Whether windows still open in Redis are in the sums (false: Redis could not be asked). */
  includesOpenWindows: boolean;
  openWindows: number;
  source: PartSource;
}

/**
 * Sums of windows for one query: the Postgres part from the cache or, on a miss, from the
 * rollups and windows; then the windows still open in Redis merged in, each counted once.
 * The versions are read before Postgres, so a part is never stored under versions newer
 * than what it read.
 */
@Injectable()
export class UsageEngine {
  private readonly logger = new Logger(UsageEngine.name);
  private readonly computing = new Map<string, Promise<StoredPart>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly repository: UsageRepository,
    private readonly open: OpenWindows,
    private readonly versions: UsageVersions,
    private readonly cache: UsageCache,
    private readonly metrics: AnalyticsMetrics,
  ) {}

  async sums(scope: TenantScope, query: UsageQuery): Promise<Sums> {
    return this.sumsAfter(scope, query, await this.reads(scope.tenantId, query));
  }

  /**
   * The answer `render` makes of the query's sums, kept beside this instance's copy of the
   * part when no window of its range was open: a later request under the same versions that
   * finds none open either would render the very same content from the same part (only its
   * `asOf`, the Redis time of its own open-window read, differs, and that is not in the
   * content), so it is sent as kept: no parse, no merge, no serialising or hashing. A flush
   * changes the versions, so a kept answer is never found after one.
   */
  async rendered(
    scope: TenantScope,
    query: UsageQuery,
    shape: string,
    render: (sums: Sums) => Promise<RenderedAnswer>,
  ): Promise<JsonAnswer> {
    const reads = await this.reads(scope.tenantId, query);
    const { live, queryDigest } = reads;
    const settled = live?.windows.length === 0 ? reads.version : null;
    if (settled !== null && live) {
      const kept = this.cache.rendered(scope.tenantId, queryDigest, settled, shape);
      if (kept) {
        this.metrics.answers.inc({ source: 'kept' });
        return { rendered: kept, asOfMs: live.nowMs };
      }
    }
    const sums = await this.sumsAfter(scope, query, reads);
    const rendered = await render(sums);
    if (settled !== null) {
      this.cache.keepRendered(scope.tenantId, queryDigest, settled, shape, rendered);
    }
    return { rendered, asOfMs: sums.asOfMs };
  }

  /** Computes and stores the part under the current versions, unless it is there (pre-warm). */
  async warm(scope: TenantScope, query: UsageQuery): Promise<void> {
    const days = daysOf(query.bounds[0], query.bounds[query.bounds.length - 1]);
    const queryDigest = digestOf(query);
    const version = await this.versions.digest(scope.tenantId, days);
    if (await this.cache.get(scope.tenantId, queryDigest, version, days)) return;
    const live = await this.open.read(scope.tenantId, {
      fromMs: query.bounds[0],
      toMs: query.bounds[query.bounds.length - 1],
      customerIds: query.customerIds,
    });
    await this.cache.set(
      scope.tenantId,
      queryDigest,
      version,
      days,
      await this.compute(scope, query, live),
    );
  }

  /** The versions of the query's days and the open windows of its range, read together. */
  private async reads(tenantId: string, query: UsageQuery): Promise<Reads> {
    const fromMs = query.bounds[0];
    const toMs = query.bounds[query.bounds.length - 1];
    const days = daysOf(fromMs, toMs);
    const [version, live] = await Promise.all([
      this.versions.digest(tenantId, days).catch(() => null),
      this.open.read(tenantId, { fromMs, toMs, customerIds: query.customerIds }).catch(() => null),
    ]);
    return { queryDigest: digestOf(query), days, version, live };
  }

  private async sumsAfter(
    scope: TenantScope,
    query: UsageQuery,
    { queryDigest, days, version, live }: Reads,
  ): Promise<Sums> {
    const tenantId = scope.tenantId;
    let part: StoredPart | null = null;
    let source: PartSource = 'computed';
    if (version !== null) {
      const hit = await this.cache.get(tenantId, queryDigest, version, days);
      if (hit) ({ part, source } = { part: hit.part, source: hit.hit });
    } else {
      part = this.cache.recent(tenantId, queryDigest);
      if (part) source = 'recent';
    }
    if (!part) {
      // Requests that miss together (a dashboard's panels right after a flush) share one read.
      const key = `${tenantId}\u0000${queryDigest}\u0000${version}`;
      let computing = this.computing.get(key);
      if (!computing) {
        computing = this.compute(scope, query, live).then(async (computed) => {
          await this.cache.set(tenantId, queryDigest, version, days, computed);
          return computed;
        });
        this.computing.set(key, computing);
        void computing.finally(() => this.computing.delete(key)).catch(() => undefined);
      }
      part = await computing;
    }
    this.metrics.answers.inc({ source });
    return this.merge(scope, query, part, live, source);
  }

  private async compute(
    scope: TenantScope,
    query: UsageQuery,
    live: OpenWindowsRead | null,
  ): Promise<StoredPart> {
    const openKeys = (live?.windows ?? []).map(({ customerId, windowStartMs }) => ({
      customerId,
      windowStartMs,
    }));
    const stopTimer = this.metrics.computeSeconds.startTimer();
    const { cells, windows } = await this.repository.sums(
      scope,
      query,
      planSegments(query.bounds, this.config.window.ms),
      this.config.analytics.maxRows + 1,
      openKeys,
    );
    stopTimer();
    if (cells.length > this.config.analytics.maxRows) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `The answer would hold more than ${this.config.analytics.maxRows} rows; narrow the range, the filters or the grouping.`,
        { errors: [{ path: '/groupBy', message: 'makes too many rows for this range' }] },
      );
    }
    const rows = new Map(windows.map((w) => [windowKey(w), w]));
    return {
      cells,
      pinned: openKeys.map((k) => ({ ...k, row: rows.get(windowKey(k)) ?? null })),
      // Read after the snapshot: the closer flushes a window only once due by Redis time,
      // so one not due at this instant had no row in what was just read.
      settledAtMs: live ? await this.open.now().catch(() => null) : null,
      readAtMs: this.clock.now(),
    };
  }

  /**
   * Each open window replaces its Postgres row when its hash is newer than the row (the
   * rule of the closer's own fence): the row is taken out of the sums, the hash put in.
   * A row the part was read with comes from the part; one it cannot hold (not due when it
   * was read) counts as absent; any other is asked for now.
   */
  private async merge(
    scope: TenantScope,
    query: UsageQuery,
    part: StoredPart,
    live: OpenWindowsRead | null,
    source: PartSource,
  ): Promise<Sums> {
    const sums = new CellSums(query, part.cells);
    const withoutLive = (): Sums => ({
      cells: part.cells,
      asOfMs: part.readAtMs,
      includesOpenWindows: false,
      openWindows: 0,
      source,
    });
    if (!live) return withoutLive();
    const pinned = new Map(part.pinned.map((p) => [windowKey(p), p.row]));
    const unknown = live.windows.filter(
      (w) =>
        !pinned.has(windowKey(w)) &&
        (part.settledAtMs === null ||
          w.windowEndMs + this.config.window.graceMs <= part.settledAtMs),
    );
    let looked: Map<string, StoredWindow>;
    try {
      looked = new Map(
        (await this.repository.windows(scope, unknown)).map((w) => [windowKey(w), w]),
      );
    } catch (error) {
      this.logger.warn(`open windows left out of an answer: ${(error as Error).message}`);
      return withoutLive();
    }
    let counted = 0;
    for (const w of live.windows) {
      const row = pinned.get(windowKey(w)) ?? looked.get(windowKey(w)) ?? null;
      if (!replaces(w, row)) continue;
      sums.addWindow(w.customerId, w.windowStartMs, w.content, 1);
      if (row) sums.addWindow(row.customerId, row.windowStartMs, row.content, -1);
      counted++;
    }
    return {
      cells: sums.result(),
      asOfMs: live.nowMs,
      includesOpenWindows: true,
      openWindows: counted,
      source,
    };
  }
}

/** The closer's fence: a hash replaces a row it is newer than, never one Postgres owns (-1). */
function replaces(open: OpenWindow, row: StoredWindow | null): boolean {
  return row === null || (row.flushedRev >= 0 && row.flushedRev < open.rev);
}

function windowKey(w: { customerId: string; windowStartMs: number }): string {
  return `${w.windowStartMs}\u0000${w.customerId}`;
}

function digestOf(query: UsageQuery): string {
  return createHash('sha1')
    .update(JSON.stringify(['usage-v1', query]))
    .digest('base64url');
}
