/** Who works in a spool directory: written once, as `owner.json`, when it is claimed. */
export interface SpoolOwner {
  instanceId: string;
  host: string;
  pid: number;
  /** Random per process: tells this process from an earlier one with the same pid and host. */
  token: string;
  /** Hash of the Redis URL and key prefix: a spool is replayed only into the Redis it was for. */
  target: string;
}

/** How often an owner touches its `owner.json`. */
export const HEARTBEAT_MS = 1000;

/** An owner whose `owner.json` has not been touched for this long is taken for dead. */
export const STALE_MS = 10_000;

/**
 * The fence between a writer and whoever adopts its directory: a writer acknowledges a
 * write only within this long of a heartbeat that found its directory where it left it,
 * and an adopter reads an adopted directory only this long (plus a margin) after moving
 * it. So every write its owner acknowledged is on disk before the adopter reads, even if
 * the owner was only paused and wakes up after the move (docs/reliability/spool.md).
 */
export const FENCE_MS = STALE_MS / 2;
export const FENCE_MARGIN_MS = 1000;

/** What a process knows about itself to judge other owners. */
export interface Judge {
  host: string;
  pid: number;
  /** Tokens of the spools open in this process (tests run several instances in one). */
  liveTokens: ReadonlySet<string>;
  pidAlive: (pid: number) => boolean;
}

/**
 * Whether the owner of another directory is gone, so its directory may be adopted. A
 * heartbeat older than STALE_MS says so on any host. On this host a dead pid says so at
 * once, and so does this very pid under a token this process does not hold: a restarted
 * container's process has the pid its predecessor had. Taking a live owner's directory
 * by mistake costs it only its lease (the fence keeps its acknowledged writes), never an
 * event.
 */
export function ownerLooksDead(owner: SpoolOwner, heartbeatAgeMs: number, judge: Judge): boolean {
  if (heartbeatAgeMs > STALE_MS) return true;
  if (owner.host !== judge.host) return false;
  if (owner.pid === judge.pid) return !judge.liveTokens.has(owner.token);
  return !judge.pidAlive(owner.pid);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists, it belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
