/**
 * npm run bench:stream — the live stream under ingest load. One service instance (a child
 * process), the ingest benchmark's batched load (autocannon, batches of 100 over 10
 * connections) and, per phase, N streams held by a client process of their own. Reports
 * ingest throughput with and without the streams (same run), events delivered per second,
 * the delay from a probe event's 202 to each stream's receipt of it, and memory per
 * stream. See docs/live.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cleanup } from './ingest/cleanup';
import { CpuMeter, type CpuShares } from './ingest/cpu';
import { Ledger } from './ingest/ledger';
import { type LoadFigures, runLoad } from './ingest/load';
import type { Child } from './ingest/processes';
import { sourceRevision } from './ingest/revision';
import { benchVariables, readSettings } from './ingest/settings';
import { BenchRedis, recreateDatabase } from './ingest/stores';
import { ROOT, SERVICE_DEFAULTS, startService } from './ingest/targets';
import type { FleetCommand, FleetReply, FleetReport } from './stream/fleet';
import type { ProberCommand, ProberReply } from './stream/prober';
import { type DelayFigures, delays } from './stream/probes';
import { type MemoryFigures, renderStreamReport, type StreamRow } from './stream/report';

/** What the stream needs beyond the ingest benchmark's service settings. */
const STREAM_SERVICE = {
  // Every stream open is one request of the key; 1,000 of them must not hit its budget.
  API_KEY_RATE_LIMIT: '0',
  LIVE_MAX_STREAMS_PER_TENANT: '100000',
};

async function main(): Promise<number> {
  const settings = readSettings(process.env);
  const clientCounts = (process.env.BENCH_STREAM_CLIENTS ?? '100,1000')
    .split(',')
    .map((n) => Number(n.trim()));
  if (clientCounts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error('BENCH_STREAM_CLIENTS must be a comma-separated list of positive integers');
  }
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
  const cleanup = new Cleanup();
  const interrupt = () => void cleanup.run().finally(() => process.exit(130));
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  try {
    const startedAt = new Date();
    const revision = await sourceRevision(ROOT);
    await recreateDatabase(settings.databaseUrl);
    const prefix = `bench-${randomBytes(4).toString('hex')}:`;
    const redis = new BenchRedis(settings.redisUrl, prefix, settings.shards);
    cleanup.add('redis', async () => {
      log(`deleted ${await redis.deleteAll()} Redis keys under ${prefix}`);
      await redis.close();
    });
    const overrides: Record<string, string> = { ...STREAM_SERVICE, ...settings.serviceOverrides };
    // BENCH_PROFILE_DIR: the service writes a V8 CPU profile there when it stops.
    const profileDir = process.env.BENCH_PROFILE_DIR;
    const serviceEnv = profileDir
      ? { ...overrides, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${resolve(profileDir)}` }
      : overrides;
    const service = await startService(
      {
        databaseUrl: settings.databaseUrl,
        redisUrl: settings.redisUrl,
        prefix,
        overrides: serviceEnv,
      },
      (child: Child) => cleanup.add(child.name, () => child.stop()),
    );
    const base = service.url.replace(/\/v1\/events$/, '');
    const key = service.headers['x-api-key'];
    const fleet = new Helper<FleetCommand, FleetReply>('fleet.js');
    cleanup.add('fleet', () => fleet.stop());
    const prober = new Helper<ProberCommand, ProberReply>('prober.js');
    cleanup.add('prober', () => prober.stop());
    const meter = new CpuMeter(redis.redis, service.child.pid);
    const windowMs = Number(overrides.WINDOW_SECONDS ?? 30) * 1000;

    const most = Math.max(...clientCounts);
    log(`memory: up to ${most} idle streams, in four steps…`);
    const memory = await measureMemory(fleet, redis, prefix, base, key, most);

    const rows: StreamRow[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const clients of [0, ...clientCounts]) {
        if (clients > 0) {
          const opened = await fleet.send({ cmd: 'open', base, key, count: clients });
          if (opened.reply !== 'opened' || opened.failed > 0) {
            throw new Error(`opening ${clients} streams: ${JSON.stringify(opened)}`);
          }
        }
        log(`round ${round}: ${clients} streams, ingest load for ${settings.seconds} s…`);
        const phase = await measurePhase(meter, fleet, prober, service.url, service.headers, {
          round,
          clients,
          seconds: settings.seconds,
          warmupSeconds: settings.warmupSeconds,
          connections: settings.batchConnections,
          batchSize: settings.batchSize,
          windowMs,
        });
        rows.push({ round, clients, ...phase });
        if (clients > 0) await unwatch(fleet, redis, prefix);
      }
    }

    const report = renderStreamReport({
      startedAt,
      revision,
      command: [...benchVariables(process.env), 'npm run bench:stream'].join(' '),
      settings:
        `${settings.seconds} s per phase after a ${settings.warmupSeconds} s warm-up; batches of ` +
        `${settings.batchSize} over ${settings.batchConnections} connections; probes: 10 ` +
        `customers, one event each every ~300 ms; service with ` +
        Object.entries({ ...SERVICE_DEFAULTS, ...overrides })
          .map(([name, value]) => `${name}=${value}`)
          .join(' '),
      rows,
      memory,
    });
    process.stdout.write(`\n${report}`);
    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    await mkdir(resolve(ROOT, '.bench'), { recursive: true });
    await writeFile(resolve(ROOT, '.bench', `stream-${stamp}.md`), report);
    log(`report written to .bench/stream-${stamp}.md`);
    return 0;
  } finally {
    await cleanup.run();
  }
}

interface PhaseSpec {
  round: number;
  clients: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  batchSize: number;
  windowMs: number;
}

async function measurePhase(
  meter: CpuMeter,
  fleet: Helper<FleetCommand, FleetReply>,
  prober: Helper<ProberCommand, ProberReply>,
  eventsUrl: string,
  headers: Record<string, string>,
  spec: PhaseSpec,
): Promise<{
  ingest: LoadFigures;
  cpu: CpuShares;
  clientsCpu: number;
  delivery?: { events: number; eventsPerSecond: number; ended: number; delays: DelayFigures };
}> {
  await prober.send({
    cmd: 'start',
    url: eventsUrl,
    headers,
    windowMs: spec.windowMs,
    tag: `${spec.round}x${spec.clients}`,
  });
  let recordedFrom = 0;
  const warmup = sleep(spec.warmupSeconds * 1000).then(async () => {
    if (spec.clients === 0) return;
    const reply = await fleet.send({ cmd: 'record' });
    // Probes answered in the first second may have had their update before the recording.
    if (reply.reply === 'recording') recordedFrom = reply.since + 1000;
  });
  const clientsBefore = await fleet.cpuSeconds();
  const startedAt = performance.now();
  const { value: ingest, cpu } = await meter.measure(() =>
    runLoad(
      {
        url: eventsUrl,
        headers,
        batchSize: spec.batchSize,
        connections: spec.connections,
        seconds: spec.seconds,
        warmupSeconds: spec.warmupSeconds,
      },
      new Ledger(),
    ),
  );
  const clientsCpu =
    ((await fleet.cpuSeconds()) - clientsBefore) / ((performance.now() - startedAt) / 1000);
  await warmup;
  const stopped = await prober.send({ cmd: 'stop' });
  if (stopped.reply !== 'stopped') throw new Error(`prober answered ${stopped.reply}`);
  if (spec.clients === 0) return { ingest, cpu, clientsCpu };
  // The last probes' updates are a coalescing interval, a tick and transport away.
  await sleep(3000);
  const reply = await fleet.send({ cmd: 'report' });
  if (reply.reply !== 'report') throw new Error(`fleet answered ${reply.reply}`);
  const report: FleetReport = reply.report;
  return {
    ingest,
    cpu,
    clientsCpu,
    delivery: {
      events: report.events,
      eventsPerSecond: report.events / report.seconds,
      ended: report.ended,
      delays: delays(stopped.probes, report.receipts, report.observers, recordedFrom),
    },
  };
}

/** A helper process (the stream clients, the prober), one command and reply at a time. */
class Helper<Command, Reply> {
  private child?: ChildProcess;

  constructor(private readonly script: string) {}

  async send(command: Command): Promise<Reply> {
    this.child ??= fork(resolve(__dirname, 'stream', this.script), { stdio: 'inherit' });
    const answer = once(this.child, 'message') as Promise<[Reply]>;
    this.child.send(command as object);
    const [reply] = await answer;
    return reply;
  }

  /** CPU seconds the process has used (0 before it starts), from /proc. */
  async cpuSeconds(): Promise<number> {
    if (this.child?.pid === undefined) return 0;
    const stat = await readFile(`/proc/${this.child.pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in USER_HZ ticks (100 a second on Linux).
    return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exit = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exit;
  }
}

/**
 * What an idle stream costs the service: streams opened in four steps up to `most`, the
 * service's memory read after each, and the slope of a least-squares line through the
 * readings (one reading per step is at the mercy of the garbage collector's timing).
 */
async function measureMemory(
  fleet: Helper<FleetCommand, FleetReply>,
  redis: BenchRedis,
  prefix: string,
  base: string,
  key: string,
  most: number,
): Promise<MemoryFigures> {
  const points: { streams: number; rss: number; heap: number }[] = [
    { streams: 0, ...(await serviceMemory(base)) },
  ];
  for (let step = 1; step <= 4; step++) {
    const streams = Math.round((most * step) / 4);
    const opened = await fleet.send({
      cmd: 'open',
      base,
      key,
      count: streams - points.at(-1)!.streams,
    });
    if (opened.reply !== 'opened' || opened.failed > 0) {
      throw new Error(`opening streams: ${JSON.stringify(opened)}`);
    }
    points.push({ streams, ...(await serviceMemory(base)) });
  }
  await unwatch(fleet, redis, prefix);
  return {
    streams: most,
    rssBytesPerStream: slope(points.map((p) => [p.streams, p.rss])),
    heapBytesPerStream: slope(points.map((p) => [p.streams, p.heap])),
  };
}

/**
 * Closes the streams, and tells producers nobody watches any more (the mark would outlive
 * the streams by the history's span), so that a phase without streams does no stream work.
 */
async function unwatch(
  fleet: Helper<FleetCommand, FleetReply>,
  redis: BenchRedis,
  prefix: string,
): Promise<void> {
  await fleet.send({ cmd: 'close' });
  await sleep(1000);
  const marks = await redis.redis.keys(`${prefix}live:*:watched`);
  if (marks.length > 0) await redis.redis.del(...marks);
}

function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}

/**
 * The service's resident set and live heap, idle: the smallest of a few readings a second
 * apart, so that garbage not yet collected counts as little as it can.
 */
async function serviceMemory(base: string): Promise<{ rss: number; heap: number }> {
  let rss = Infinity;
  let heap = Infinity;
  for (let i = 0; i < 3; i++) {
    await sleep(1000);
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name} ([\\d.e+]+)`, 'm').exec(text)?.[1] ?? NaN);
    rss = Math.min(rss, value('tally_process_resident_memory_bytes'));
    heap = Math.min(heap, value('tally_nodejs_heap_size_used_bytes'));
  }
  return { rss, heap };
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

main().then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    process.stderr.write(`benchmark failed: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
