import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { defineScript, type ScriptCommand } from '../infra/redis/define-script';
import { execAll } from '../infra/redis/exec-all';
import { type WindowRef, WindowKeys } from '../infra/redis/redis-keys';
import { REDIS } from '../infra/redis/redis.tokens';
import { RELEASE_FLUSHED_LUA, RELEASE_RECOMPUTED_LUA } from './release.lua';
import { shardOf } from './shard';
import { countersFromHash, type WindowCounters } from './window-hash';
import { latestDueEnd } from './window-math';

/** A due window as read for a flush; `counters` null when its hash is gone (expired). */
export interface DueWindow {
  ref: WindowRef;
  /** The hash revision as read ('' when the hash is gone): the flush's fencing token. */
  rev: string;
  counters: WindowCounters | null;
}

/** A window asked to be recomputed from raw events; `score` as Redis holds it. */
export interface RequestedWindow {
  ref: WindowRef;
  score: string;
}

/** Commands per MULTI when tracking requests: bounded, so one transaction stays short. */
const CHUNK = 1000;

/**
 * Recompute requests made to be waited for: per shard, each window's member in the index
 * and the score it had once requested. Opaque outside the window store.
 */
export type RecomputeTracking = Map<number, Map<string, number>>;

/** A recompute to request: the window (its shard if known), and from when it may run (ms). */
export interface RecomputeRequest {
  tenantId: string;
  customerId: string;
  windowStartMs: number;
  shard?: number;
  atMs: number;
}

/**
 * The open index (windows with unflushed counts, scored by window end) and the recompute
 * index (windows Postgres owns, scored by when they may be recomputed) of every shard,
 * and the window hashes a flush reads. The closer and the persistence worker work on
 * windows through this class; the keys and the hash fields stay in the window store.
 */
@Injectable()
export class WindowIndexes {
  private readonly releaseFlushedScript: ScriptCommand<number>;
  private readonly releaseRecomputedScript: ScriptCommand<number>;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: WindowKeys,
  ) {
    this.releaseFlushedScript = defineScript(redis, 'tallyReleaseFlushed', RELEASE_FLUSHED_LUA);
    this.releaseRecomputedScript = defineScript(
      redis,
      'tallyReleaseRecomputed',
      RELEASE_RECOMPUTED_LUA,
    );
  }

  /** Redis time (ms): the one clock windows are judged due by. */
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Whether the shard has a window due at `nowMs` or a recompute requested by then. */
  async hasWork(shard: number, nowMs: number): Promise<boolean> {
    const [due, recompute] = await Promise.all([
      this.redis.zrangebyscore(
        this.keys.openIndex(shard),
        '-inf',
        this.dueBound(nowMs),
        'LIMIT',
        0,
        1,
      ),
      this.redis.zcount(this.keys.recomputeIndex(shard), '-inf', nowMs),
    ]);
    return due.length > 0 || recompute > 0;
  }

  /**
   * Up to `limit` windows of the shard due at `nowMs`, read in one transaction with the
   * epoch marker (its raw value), so a flush knows which life of Redis the counts are of.
   * No windows due: nothing read, marker undefined.
   */
  async readDue(
    shard: number,
    nowMs: number,
    limit: number,
  ): Promise<{ windows: DueWindow[]; marker?: string | null }> {
    const keys = await this.redis.zrangebyscore(
      this.keys.openIndex(shard),
      '-inf',
      this.dueBound(nowMs),
      'LIMIT',
      0,
      limit,
    );
    if (keys.length === 0) return { windows: [] };
    const tx = this.redis.multi();
    keys.forEach((key) => tx.hgetall(key));
    tx.get(this.keys.epochMarker());
    const replies = await execAll(tx);
    const marker = replies.pop() as string | null;
    const windows = (replies as Record<string, string>[]).map((hash, i) => {
      const gone = Object.keys(hash).length === 0;
      return {
        ref: this.keys.parseWindowKey(keys[i]),
        rev: gone ? '' : hash.rev,
        counters: gone ? null : countersFromHash(hash),
      };
    });
    return { windows, marker };
  }

  /**
   * Takes flushed windows out of the open index, each only if its hash is still at the
   * revision flushed: a window an event changed meanwhile stays open for the next pass.
   */
  async releaseFlushed(shard: number, windows: { ref: WindowRef; rev: string }[]): Promise<void> {
    if (windows.length === 0) return;
    await this.releaseFlushedScript(
      1 + windows.length,
      this.keys.openIndex(shard),
      ...windows.map(({ ref }) => this.keys.windowKey(ref)),
      ...windows.map(({ rev }) => rev),
    );
  }

  /**
   * The one way to ask for windows to be recomputed from Postgres raw events: each at its
   * `atMs` (a later request for the same window replaces the earlier one).
   */
  async requestRecompute(requests: RecomputeRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const byShard = new Map<number, (string | number)[]>();
    for (const { atMs, tenantId, customerId, windowStartMs, ...known } of requests) {
      const shard = known.shard ?? shardOf(tenantId, customerId, this.config.shards);
      const members = byShard.get(shard) ?? [];
      members.push(atMs, this.keys.windowKey({ shard, tenantId, customerId, windowStartMs }));
      byShard.set(shard, members);
    }
    const pipeline = this.redis.pipeline();
    for (const [shard, members] of byShard) {
      pipeline.zadd(this.keys.recomputeIndex(shard), ...members);
    }
    await execAll(pipeline);
  }

  /**
   * Requests to wait for (the recovery after a Redis data loss): GT keeps a later request
   * already there, and the score read back in the same transaction is the one to wait for.
   */
  async requestRecomputeTracked(requests: RecomputeRequest[]): Promise<RecomputeTracking> {
    const wanted = new Map<number, [member: string, score: number][]>();
    for (const { atMs, tenantId, customerId, windowStartMs, ...known } of requests) {
      const shard = known.shard ?? shardOf(tenantId, customerId, this.config.shards);
      const members = wanted.get(shard) ?? [];
      members.push([this.keys.windowKey({ shard, tenantId, customerId, windowStartMs }), atMs]);
      wanted.set(shard, members);
    }
    const tracking: RecomputeTracking = new Map();
    for (const [shard, members] of wanted) {
      const index = this.keys.recomputeIndex(shard);
      const requested = new Map<string, number>();
      for (const chunk of chunks(members)) {
        const [, scores] = (await execAll(
          this.redis
            .multi()
            .zadd(index, 'GT', ...chunk.flatMap(([member, score]) => [score, member]))
            .zmscore(index, ...chunk.map(([member]) => member)),
        )) as [number, string[]];
        chunk.forEach(([member], i) => requested.set(member, Number(scores[i])));
      }
      tracking.set(shard, requested);
    }
    return tracking;
  }

  /**
   * Drops from `tracking` the requests the closer has done (gone from the index, or
   * replaced by a newer one, which is the writer's to wait for), in one transaction with
   * the epoch marker, whose raw value is returned: requests that vanished because Redis
   * lost its data again do not count as done.
   */
  async pruneDone(tracking: RecomputeTracking): Promise<string | null> {
    const tx = this.redis.multi();
    const asked: [number, string, number][] = [];
    for (const [shard, members] of tracking) {
      for (const chunk of chunks([...members])) {
        tx.zmscore(this.keys.recomputeIndex(shard), ...chunk.map(([member]) => member));
        chunk.forEach(([member, score]) => asked.push([shard, member, score]));
      }
    }
    tx.get(this.keys.epochMarker());
    const replies = await execAll(tx);
    const marker = replies.pop() as string | null;
    const scores = (replies as (string | null)[][]).flat();
    asked.forEach(([shard, member, score], i) => {
      const now = scores[i];
      if (now === null || Number(now) > score) tracking.get(shard)!.delete(member);
    });
    for (const [shard, members] of tracking) if (members.size === 0) tracking.delete(shard);
    return marker;
  }

  /** Up to `limit` windows of the shard whose recompute may run at `nowMs`. */
  async requested(shard: number, nowMs: number, limit: number): Promise<RequestedWindow[]> {
    const withScores = await this.redis.zrangebyscore(
      this.keys.recomputeIndex(shard),
      '-inf',
      nowMs,
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const requested: RequestedWindow[] = [];
    for (let i = 0; i < withScores.length; i += 2) {
      requested.push({ ref: this.keys.parseWindowKey(withScores[i]), score: withScores[i + 1] });
    }
    return requested;
  }

  /** Takes recomputed windows out of the index unless a newer request (score) came meanwhile. */
  async releaseRecomputed(shard: number, windows: RequestedWindow[]): Promise<void> {
    if (windows.length === 0) return;
    await this.releaseRecomputedScript(
      1,
      this.keys.recomputeIndex(shard),
      ...windows.flatMap(({ ref, score }) => [this.keys.windowKey(ref), score]),
    );
  }

  private dueBound(nowMs: number): number {
    return latestDueEnd(nowMs, this.config.window.graceMs);
  }
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}
