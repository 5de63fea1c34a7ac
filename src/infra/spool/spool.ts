import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { Metrics } from '../metrics/metrics';
import { OWNER_FILE, OwnedDirectory, SEGMENT_SUFFIX } from './owned-directory';
import { decodeFrames, type DecodedSegment, encodeFrame } from './spool-frame';
import {
  FENCE_MARGIN_MS,
  FENCE_MS,
  HEARTBEAT_MS,
  ownerLooksDead,
  pidAlive,
  type SpoolOwner,
} from './spool-owner';

/** A segment is closed once it holds this much; replay reads one segment at a time. */
const SEGMENT_BYTES = 4 * 1024 * 1024;

/** Tokens of the spools open in this process, which share its pid. */
const LIVE_TOKENS = new Set<string>();

/** The spool cannot take the record without going over SPOOL_MAX_BYTES. */
export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
}

/** The spool is off, closed, or its write or lease failed: nothing was acknowledged. */
export class SpoolUnavailableError extends Error {
  override readonly name = 'SpoolUnavailableError';
}

/** A closed segment waiting for replay. */
export interface SegmentRef {
  path: string;
  bytes: number;
}

interface PendingAppend {
  frame: Buffer;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface ActiveSegment {
  path: string;
  handle: FileHandle;
  bytes: number;
}

/**
 * A durable local log of opaque records, per process (docs/reliability/spool.md).
 * Appends are group-committed: the records that arrive while one write and fdatasync run
 * share the next write and fdatasync, and each append resolves only once its record is
 * synced. Everything that touches the open segment runs in one serial chain. Segments
 * are closed for replay (`segmentsToReplay`) and deleted by the replayer (`remove`) once
 * every record in them has had its outcome. Directories of dead processes in the same
 * root are adopted (`adoptOrphans`) and replayed like this process's own.
 */
@Injectable()
export class Spool implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Spool.name);
  private readonly me: SpoolOwner;
  private readonly root: string;
  readonly enabled: boolean;
  readonly maxBytes: number;
  private dir?: OwnedDirectory;
  private active?: ActiveSegment;
  private sequence = 0;
  /** Bytes of every segment under this process's directory, plus appends not yet written. */
  private used = 0;
  /** An append was refused for want of room and nothing has been freed since. */
  private refusedAt?: number;
  private pending: PendingAppend[] = [];
  private flushQueued = false;
  private chain: Promise<unknown> = Promise.resolve();
  /** Adopted directories (top level inside ours) and the monotonic time they may be read from. */
  private readonly adopted = new Map<string, number>();
  private readonly foreignWarned = new Set<string>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.enabled = config.spool.enabled;
    this.root = config.spool.dir;
    this.maxBytes = config.spool.maxBytes;
    this.me = {
      instanceId: config.instanceId,
      host: hostname(),
      pid: process.pid,
      token: randomBytes(6).toString('hex'),
      target: createHash('sha256')
        .update(`${config.redisUrl}\n${config.redisKeyPrefix}`)
        .digest('hex')
        .slice(0, 16),
    };
  }

  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.claim();
    } catch (error) {
      throw new Error(
        `cannot use SPOOL_DIR ${this.root} (${(error as Error).message}): give the service a ` +
          'writable directory there, or set SPOOL_ENABLED=false to answer 503 while Redis is down',
        { cause: error },
      );
    }
    this.logger.log(`spooling to ${this.dir?.path} if Redis becomes unreachable`);
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** After the replayer and the HTTP server have stopped: writes end, an empty directory goes. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.enabled || this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    LIVE_TOKENS.delete(this.me.token);
    await this.serial(() => this.closeActive());
    const dir = this.dir;
    if (!dir || dir.lost) return;
    const left = await this.recount();
    if (left === 0) {
      await rm(dir.path, { recursive: true, force: true });
    } else {
      this.logger.warn(
        `${left} bytes stay spooled in ${dir.path}; the next instance started on ${this.root} replays them`,
      );
    }
  }

  usedBytes(): number {
    return this.used;
  }

  /**
   * Whether records are still taken: not when off, and not once one was refused for want
   * of room, until replay frees some (so a probe says "full" before every request is refused).
   */
  hasRoom(): boolean {
    return (
      this.enabled && !this.closed && this.refusedAt === undefined && this.used < this.maxBytes
    );
  }

  /**
   * Resolves once the record is on disk (fdatasync) under a fresh lease. Throws
   * SpoolFullError beyond SPOOL_MAX_BYTES, SpoolUnavailableError when off or failing.
   */
  append(payload: Buffer): Promise<void> {
    if (!this.enabled || this.closed) {
      return Promise.reject(new SpoolUnavailableError('the spool is off'));
    }
    const frame = encodeFrame(payload);
    if (this.used + frame.length > this.maxBytes) {
      this.refusedAt = this.used;
      return Promise.reject(new SpoolFullError(`the spool holds ${this.used} bytes already`));
    }
    this.setUsed(this.used + frame.length);
    return new Promise((resolve, reject) => {
      this.pending.push({ frame, resolve, reject });
      if (!this.flushQueued) {
        this.flushQueued = true;
        void this.serial(() => this.flush());
      }
    });
  }

  /**
   * Closes the segment being written (if it holds anything) and lists every closed
   * segment that may be read now, oldest first: adopted directories' (once their fence
   * has passed), then this process's own. `nowMs` is monotonic (performance.now()).
   */
  async segmentsToReplay(nowMs = performance.now()): Promise<SegmentRef[]> {
    if (!this.enabled) return [];
    await this.serial(() => this.closeActive());
    const dir = this.dir;
    if (!dir || dir.lost) return [];
    const segments: SegmentRef[] = [];
    for (const [path, readableAt] of [...this.adopted].sort(([a], [b]) => a.localeCompare(b))) {
      if (nowMs < readableAt) continue;
      const adopted = await listSegments(path);
      if (adopted.length > 0) {
        segments.push(...adopted);
      } else {
        // A dead owner that had nothing spooled: nothing to replay, nothing to keep.
        await rm(path, { recursive: true, force: true });
        this.adopted.delete(path);
      }
    }
    const own = await listSegments(dir.path, false);
    return [...segments, ...own.filter((s) => s.path !== this.active?.path)];
  }

  async read(segment: SegmentRef): Promise<DecodedSegment> {
    return decodeFrames(await readFile(segment.path));
  }

  /** Deletes a replayed segment, and an adopted directory once nothing in it is left. */
  async remove(segment: SegmentRef): Promise<void> {
    await unlink(segment.path);
    this.setUsed(this.used - segment.bytes);
    const own = this.dir?.path;
    let dir = dirname(segment.path);
    while (own && dir !== own && dirname(dir) !== dir) {
      if ((await listSegments(dir)).length > 0) break;
      await rm(dir, { recursive: true, force: true });
      this.adopted.delete(dir);
      dir = dirname(dir);
    }
  }

  /**
   * Moves into this process's directory every directory in the root whose owner looks
   * dead and that was meant for the same Redis. The move is one rename, so of several
   * instances trying, one wins. Returns the adopted paths.
   */
  async adoptOrphans(nowMs = performance.now()): Promise<string[]> {
    const dir = this.dir;
    if (!this.enabled || this.closed || !dir || dir.lost) return [];
    const taken: string[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      const from = join(this.root, entry.name);
      if (!entry.isDirectory() || from === dir.path) continue;
      const owner = await readOwner(from);
      if (!owner) continue;
      if (owner.record.target !== this.me.target) {
        this.warnForeign(from);
        continue;
      }
      // Wall time, not the injected clock: the heartbeat is a file's mtime, set by the OS.
      const age = Date.now() - owner.heartbeatMs;
      const judge = { host: this.me.host, pid: this.me.pid, liveTokens: LIVE_TOKENS, pidAlive };
      if (!ownerLooksDead(owner.record, age, judge)) continue;
      const to = join(dir.path, entry.name);
      try {
        await rename(from, to);
      } catch (error) {
        // Another instance adopted it first.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      this.adopted.set(to, nowMs + FENCE_MS + FENCE_MARGIN_MS);
      taken.push(to);
      const bytes = sumBytes(await listSegments(to));
      this.setUsed(this.used + bytes);
      this.logger.warn(
        `adopted ${entry.name} (${bytes} bytes spooled by ${owner.record.instanceId}, pid ` +
          `${owner.record.pid} on ${owner.record.host}, silent ${Math.round(age / 1000)} s)`,
      );
    }
    return taken;
  }

  /** Touches this process's owner file; a lost directory is replaced by a new one. */
  async heartbeat(nowMs = performance.now()): Promise<void> {
    const dir = this.dir;
    if (!dir || this.closed) return;
    try {
      await dir.beat(nowMs);
    } catch (error) {
      this.logger.error(`spool heartbeat failed: ${(error as Error).message}`);
    }
    if (dir.lost) {
      this.logger.error(
        `spool directory ${dir.path} was adopted by another instance while this one ran ` +
          '(paused longer than the lease?); continuing in a new one',
      );
      await this.serial(() => this.reclaim());
    }
  }

  private async claim(): Promise<void> {
    LIVE_TOKENS.add(this.me.token);
    this.dir = await OwnedDirectory.claim(this.root, this.me, performance.now());
  }

  /** The old directory and all in it now belong to its adopter. */
  private async reclaim(): Promise<void> {
    if (this.dir && !this.dir.lost) return;
    await this.active?.handle.close().catch(() => undefined);
    this.active = undefined;
    this.adopted.clear();
    LIVE_TOKENS.delete(this.me.token);
    this.me.token = randomBytes(6).toString('hex');
    this.sequence = 0;
    await this.claim();
    await this.recount();
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    const group = this.pending.splice(0);
    if (group.length === 0) return;
    try {
      const segment = await this.writableSegment();
      const data = Buffer.concat(group.map((p) => p.frame));
      await writeAll(segment, data);
      await segment.handle.datasync();
      if (!this.dir?.canAcknowledge(performance.now())) {
        throw new SpoolUnavailableError('the spool directory lease is not fresh');
      }
      for (const p of group) p.resolve();
    } catch (error) {
      // Never append after a failed write: what follows a torn record would be unreadable.
      await this.closeActive().catch(() => undefined);
      await this.recount().catch(() => undefined);
      const reason = error instanceof SpoolUnavailableError ? error.message : String(error);
      this.logger.error(`spool write failed: ${reason}`);
      for (const p of group) p.reject(new SpoolUnavailableError(reason));
    }
  }

  private async writableSegment(): Promise<ActiveSegment> {
    if (!this.dir || this.dir.lost) await this.reclaim();
    if (this.active && this.active.bytes >= SEGMENT_BYTES) await this.closeActive();
    if (!this.active) {
      const created = await this.dir!.createSegment(++this.sequence);
      this.active = { ...created, bytes: 0 };
    }
    return this.active;
  }

  private async closeActive(): Promise<void> {
    const active = this.active;
    this.active = undefined;
    await active?.handle.close();
  }

  /** Bytes on disk under this process's directory, plus appends not yet written. */
  private async recount(): Promise<number> {
    const dir = this.dir;
    const onDisk = dir && !dir.lost ? sumBytes(await listSegments(dir.path)) : 0;
    this.setUsed(onDisk + this.pending.reduce((sum, p) => sum + p.frame.length, 0));
    return onDisk;
  }

  private setUsed(bytes: number): void {
    this.used = bytes;
    if (this.refusedAt !== undefined && bytes < this.refusedAt) this.refusedAt = undefined;
    this.metrics.spoolBytes.set(bytes);
  }

  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.chain.then(operation);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private warnForeign(path: string): void {
    if (this.foreignWarned.has(path)) return;
    this.foreignWarned.add(path);
    this.logger.warn(
      `${path} was spooled for another Redis URL or key prefix; left alone (docs/reliability/spool.md)`,
    );
  }
}

async function writeAll(segment: ActiveSegment, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await segment.handle.write(data, offset);
    offset += bytesWritten;
    segment.bytes += bytesWritten;
  }
}

/**
 * The segments under a directory, oldest first: those of directories adopted into it
 * (recursively, as a dead adopter's directory holds what it had adopted), then its own.
 */
async function listSegments(dir: string, nested = true): Promise<SegmentRef[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  const inner: SegmentRef[] = [];
  const own: SegmentRef[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && nested) inner.push(...(await listSegments(path)));
    else if (entry.isFile() && entry.name.endsWith(SEGMENT_SUFFIX)) {
      own.push({ path, bytes: (await stat(path)).size });
    }
  }
  return [...inner, ...own];
}

function sumBytes(segments: SegmentRef[]): number {
  return segments.reduce((sum, s) => sum + s.bytes, 0);
}

async function readOwner(
  dir: string,
): Promise<{ record: SpoolOwner; heartbeatMs: number } | undefined> {
  const path = join(dir, OWNER_FILE);
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { record: JSON.parse(text) as SpoolOwner, heartbeatMs: info.mtimeMs };
  } catch {
    // Not an owner's directory, or one claimed and never written: nothing to replay.
    return undefined;
  }
}
