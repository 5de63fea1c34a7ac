import type { Redis } from 'ioredis';
import { readdir, readFile } from 'node:fs/promises';

/** Linux reports process and machine times in USER_HZ ticks, fixed at 100 per second. */
const TICKS_PER_SECOND = 100;

export interface CpuShares {
  loadGenerator: number;
  server: number;
  redis: number;
  postgres: number;
  /** Everything else busy on the machine: other programs, the kernel's share for them. */
  other: number;
  machine: number;
}

interface CpuSample {
  atMs: number;
  loadGenerator: number;
  server: number;
  redis: number;
  /** By pid, so a backend that comes or goes between samples cannot skew the sum. */
  postgres: Map<string, number>;
  machine: number;
}

/**
 * Where the CPU went during a phase, in cores (CPU seconds per second), from /proc and
 * Redis INFO: the two cores are shared by everything, so a figure is only
 * meaningful next to what the others were using.
 */
export class CpuMeter {
  constructor(
    private readonly redis: Redis,
    private readonly serverPid: number,
  ) {}

  async measure<T>(phase: () => Promise<T>): Promise<{ value: T; cpu: CpuShares }> {
    const before = await this.sample();
    const value = await phase();
    const after = await this.sample();
    const seconds = (after.atMs - before.atMs) / 1000;
    const rate = (key: 'loadGenerator' | 'server' | 'redis' | 'machine') =>
      (after[key] - before[key]) / seconds;
    let postgres = 0;
    for (const [pid, used] of after.postgres) postgres += used - (before.postgres.get(pid) ?? 0);
    const cpu = {
      loadGenerator: rate('loadGenerator'),
      server: rate('server'),
      redis: rate('redis'),
      postgres: postgres / seconds,
      machine: rate('machine'),
    };
    const ours = cpu.loadGenerator + cpu.server + cpu.redis + cpu.postgres;
    return { value, cpu: { ...cpu, other: Math.max(0, cpu.machine - ours) } };
  }

  private async sample(): Promise<CpuSample> {
    const usage = process.cpuUsage();
    const [server, redis, postgres, machine] = await Promise.all([
      processSeconds(String(this.serverPid)).then((s) => s?.seconds ?? 0),
      redisSeconds(this.redis),
      postgresSeconds(),
      machineBusySeconds(),
    ]);
    return {
      atMs: performance.now(),
      loadGenerator: (usage.user + usage.system) / 1e6,
      server,
      redis,
      postgres,
      machine,
    };
  }
}

async function processSeconds(pid: string): Promise<{ name: string; seconds: number } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The name may hold spaces and parentheses; the fields after its last ')' do not.
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
  return { name, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

/** Every Postgres process: each connection is a backend process of its own. */
async function postgresSeconds(): Promise<Map<string, number>> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  const stats = await Promise.all(pids.map(processSeconds));
  const byPid = new Map<string, number>();
  stats.forEach((s, i) => {
    if (s?.name === 'postgres') byPid.set(pids[i], s.seconds);
  });
  return byPid;
}

async function redisSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function machineBusySeconds(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0];
  const ticks = line.split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, t) => sum + t, 0);
  // idle and iowait are fields 4 and 5; guest time is already counted in user.
  const [guest = 0, guestNice = 0] = ticks.slice(8, 10);
  return (total - guest - guestNice - ticks[3] - ticks[4]) / TICKS_PER_SECOND;
}
