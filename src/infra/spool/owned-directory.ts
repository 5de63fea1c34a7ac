import { mkdir, open, rename, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FENCE_MS, type SpoolOwner } from './spool-owner';

export const OWNER_FILE = 'owner.json';
export const SEGMENT_SUFFIX = '.seg';

/**
 * One process's directory inside the spool root: claimed at start under a name no other
 * process uses, kept alive by a heartbeat on its `owner.json`. Every operation goes by
 * path, so once an adopter has moved the directory away the heartbeat fails with ENOENT
 * and new segments cannot be created: the owner knows it lost the directory, and its
 * acknowledgements stop (canAcknowledge) within FENCE_MS of its last good heartbeat.
 */
export class OwnedDirectory {
  /** Monotonic time at which the last successful heartbeat started. */
  private lastBeatMs: number;
  private lostIt = false;

  private constructor(
    readonly path: string,
    startedMs: number,
  ) {
    this.lastBeatMs = startedMs;
  }

  static async claim(root: string, owner: SpoolOwner, nowMs: number): Promise<OwnedDirectory> {
    await mkdir(root, { recursive: true });
    const path = join(root, `${owner.instanceId}.${owner.token}`);
    await mkdir(path);
    const temporary = join(path, `${OWNER_FILE}.tmp`);
    await writeFile(temporary, `${JSON.stringify(owner)}\n`, { flush: true });
    await rename(temporary, join(path, OWNER_FILE));
    await syncDirectory(path);
    await syncDirectory(root);
    return new OwnedDirectory(path, nowMs);
  }

  get lost(): boolean {
    return this.lostIt;
  }

  /** Touches owner.json; `nowMs` is taken before the call, so the fence errs on the safe side. */
  async beat(nowMs: number): Promise<void> {
    if (this.lostIt) return;
    try {
      // The OS's wall time, as other processes read the mtime (never the injected clock).
      const wall = new Date();
      await utimes(join(this.path, OWNER_FILE), wall, wall);
      this.lastBeatMs = Math.max(this.lastBeatMs, nowMs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') this.lostIt = true;
      else throw error;
    }
  }

  /** True while a write synced now may be acknowledged: no adopter can have read past it. */
  canAcknowledge(nowMs: number): boolean {
    return !this.lostIt && nowMs - this.lastBeatMs < FENCE_MS;
  }

  /** A new, empty segment opened for appending; its directory entry is synced. */
  async createSegment(sequence: number): Promise<{ path: string; handle: FileHandle }> {
    const path = join(this.path, segmentName(sequence));
    const handle = await open(path, 'ax');
    await syncDirectory(this.path);
    return { path, handle };
  }
}

/** Zero-padded, so names sort in write order. */
export function segmentName(sequence: number): string {
  return `${String(sequence).padStart(12, '0')}${SEGMENT_SUFFIX}`;
}

/** A file's data is synced by its own fsync; its name, by the directory's. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
