/**
 * npm run bench — ingestion throughput and persistence lag of one service instance,
 * against a bare Fastify baseline. The service and the baseline run as child processes
 * on a throwaway database and Redis prefix; autocannon drives them from this process.
 * Postgres is reconciled with every 202 answered. See docs/performance.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Books, type Persistence } from './ingest/books';
import { Cleanup } from './ingest/cleanup';
import { CpuMeter, type CpuShares } from './ingest/cpu';
import { Ledger } from './ingest/ledger';
import { type LoadFigures, runLoad } from './ingest/load';
import type { HeapFigures } from './ingest/heap-probe';
import { persistenceFloor } from './ingest/persistence-floor';
import type { Child } from './ingest/processes';
import { renderReport, type ScenarioRow } from './ingest/report';
import { sourceRevision } from './ingest/revision';
import { type BenchSettings, benchVariables, readSettings } from './ingest/settings';
import { BenchRedis, EventTable, recreateDatabase } from './ingest/stores';
import {
  ROOT,
  startBaseline,
  startService,
  STREAM_HIGH_WATER,
  SERVICE_DEFAULTS,
  type Target,
} from './ingest/targets';

interface Scenario {
  name: string;
  batchSize: number;
  connections: number;
}

interface Measured {
  figures: LoadFigures;
  cpu: CpuShares;
  heap: HeapFigures;
  /** Requests answered in the phase, warm-up included (as the heap figures are). */
  requests: number;
}

async function main(): Promise<number> {
  const settings = readSettings(process.env);
  const cleanup = new Cleanup();
  const interrupt = () => void cleanup.run().finally(() => process.exit(130));
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  try {
    return await bench(settings, cleanup);
  } finally {
    await cleanup.run();
  }
}

async function bench(settings: BenchSettings, cleanup: Cleanup): Promise<number> {
  const startedAt = new Date();
  const revision = await sourceRevision(ROOT);
  const scenarios: Scenario[] = [
    { name: 'single event', batchSize: 1, connections: settings.singleConnections },
    {
      name: `batches of ${settings.batchSize}`,
      batchSize: settings.batchSize,
      connections: settings.batchConnections,
    },
  ];
  const register = (child: Child) => cleanup.add(child.name, () => child.stop());

  await recreateDatabase(settings.databaseUrl);
  const prefix = `bench-${randomBytes(4).toString('hex')}:`;
  const redis = new BenchRedis(settings.redisUrl, prefix, settings.shards);
  cleanup.add('redis', async () => {
    log(`deleted ${await redis.deleteAll()} Redis keys under ${prefix}`);
    await redis.close();
  });
  const table = await EventTable.connect(settings.databaseUrl);
  cleanup.add('postgres', () => table.close());

  const service = await startService(
    {
      databaseUrl: settings.databaseUrl,
      redisUrl: settings.redisUrl,
      prefix,
      overrides: settings.serviceOverrides,
    },
    register,
  );
  const serviceMeter = new CpuMeter(redis.redis, service.child.pid);
  const books = new Books(table);
  const onService: Measured[] = [];
  const persistence: Persistence[] = [];
  for (const scenario of scenarios) {
    const ledger = new Ledger();
    onService.push(await measure(serviceMeter, service, scenario, settings, ledger));
    const entriesAtStop = await redis.backlog();
    // Timed from the moment the load stops: how far persistence trails ingestion.
    const [drain, rowsAtStop] = await Promise.all([
      serviceMeter.measure(() => redis.secondsToDrain(settings.drainCapSeconds)),
      table.count(),
    ]);
    const outcome = { seconds: drain.value, cpu: drain.cpu, rowsAtStop, entriesAtStop };
    persistence.push(await books.reconcile(scenario.name, outcome, ledger));
  }
  // One server at a time, so neither competes with the other for the cores.
  await service.child.stop();

  log(`persistence-only floor: the worker's write path alone for ${settings.seconds} s…`);
  const floor = await persistenceFloor(
    floorDatabase(settings.databaseUrl),
    settings.seconds,
    settings.batchSize,
  );

  const baseline = await startBaseline(register);
  const baselineMeter = new CpuMeter(redis.redis, baseline.child.pid);
  const onBaseline: Measured[] = [];
  for (const scenario of scenarios) {
    onBaseline.push(await measure(baselineMeter, baseline, scenario, settings, new Ledger()));
  }
  await baseline.child.stop();

  const rows = scenarios.flatMap((scenario, i): ScenarioRow[] => [
    {
      scenario: scenario.name,
      target: 'service',
      ...onService[i],
      batchSize: scenario.batchSize,
      ratio: onService[i].figures.eventsPerSecond / onBaseline[i].figures.eventsPerSecond,
    },
    {
      scenario: scenario.name,
      target: 'baseline',
      ...onBaseline[i],
      batchSize: scenario.batchSize,
      ratio: 1,
    },
  ]);
  const report = renderReport({
    startedAt,
    revision,
    command: [...benchVariables(process.env), 'npm run bench'].join(' '),
    settings: describe(settings),
    rows,
    persistence,
    drainCapSeconds: settings.drainCapSeconds,
    floor: { ...floor, serviceEventsPerSecond: onService[1].figures.eventsPerSecond },
  });
  process.stdout.write(`\n${report}`);
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  await mkdir(resolve(ROOT, '.bench'), { recursive: true });
  await writeFile(resolve(ROOT, '.bench', `ingest-${stamp}.md`), report);
  log(`report written to .bench/ingest-${stamp}.md`);

  const broken = persistence.filter((p) => !p.consistent);
  for (const p of broken) {
    process.stderr.write(
      `\n!!! PERSISTENCE MISMATCH after "${p.scenario}": ${p.rows} rows in Postgres for ` +
        `${p.accepted} events answered 202 (+${p.unansweredStored} of ${p.unanswered} ` +
        `cut off in flight), ${p.duplicates} duplicates !!!\n`,
    );
  }
  return broken.length === 0 ? 0 : 1;
}

async function measure(
  meter: CpuMeter,
  target: Target,
  scenario: Scenario,
  settings: BenchSettings,
  ledger: Ledger,
): Promise<Measured> {
  log(`${target.child.name}: ${scenario.name}, ${scenario.connections} connections…`);
  const answeredBefore = ledger.answered;
  const {
    value: { value: figures, cpu },
    heap,
  } = await target.child.heap(() =>
    meter.measure(() =>
      runLoad(
        {
          url: target.url,
          headers: target.headers,
          batchSize: scenario.batchSize,
          connections: scenario.connections,
          seconds: settings.seconds,
          warmupSeconds: settings.warmupSeconds,
        },
        ledger,
      ),
    ),
  );
  return { figures, cpu, heap, requests: ledger.answered - answeredBefore };
}

/** The floor's own throwaway database, beside the benchmark's. */
function floorDatabase(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `${url.pathname}_floor`;
  return url.toString();
}

function describe(settings: BenchSettings): string {
  const service = { ...SERVICE_DEFAULTS, ...settings.serviceOverrides };
  return [
    `${settings.seconds} s per run after a ${settings.warmupSeconds} s warm-up`,
    `single events over ${settings.singleConnections} connections`,
    `batches of ${settings.batchSize} over ${settings.batchConnections} connections`,
    `service with APP_PROFILE=test STREAM_HIGH_WATER=${STREAM_HIGH_WATER} ` +
      Object.entries(service)
        .map(([name, value]) => `${name}=${value}`)
        .join(' '),
  ].join('; ');
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
