import { cpus, totalmem } from 'node:os';
import type { Persistence } from './books';
import type { FloorFigures } from './persistence-floor';
import type { CpuShares } from './cpu';
import { type HeapFigures, renderHeap } from './heap-report';
import type { LoadFigures } from './load';

export interface ScenarioRow {
  scenario: string;
  target: 'service' | 'baseline';
  figures: LoadFigures;
  cpu: CpuShares;
  heap: HeapFigures;
  /** Requests answered while the heap was measured. */
  requests: number;
  batchSize: number;
  /** Service events/s over baseline events/s for the same scenario. */
  ratio: number;
}

export interface ReportInput {
  startedAt: Date;
  revision: string;
  command: string;
  settings: string;
  rows: ScenarioRow[];
  persistence: Persistence[];
  drainCapSeconds: number;
  floor: FloorFigures & { serviceEventsPerSecond: number };
}

/** Below this, rates and CPU shares are dominated by the sampling itself. */
const SHORTEST_PHASE_SECONDS = 1;

export function renderReport(input: ReportInput): string {
  const cpu = cpus();
  return [
    `# Ingest benchmark, ${input.startedAt.toISOString()}`,
    '',
    `Command: \`${input.command}\``,
    '',
    `Code: ${input.revision}`,
    '',
    `Settings: ${input.settings}`,
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}; ` +
      'load generator, servers, Redis and Postgres all on this machine.',
    '',
    '| scenario | target | req/s | events/s | p50 ms | p99 ms | errors | vs baseline |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...input.rows.map(renderRow),
    '',
    '| persistence after | in Postgres at stop | stream entries at stop | drained in | ' +
      'persisted/s draining | accepted (202) | cut off in flight (stored) | rows | check |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...input.persistence.map((p) => renderPersistence(p, input.drainCapSeconds)),
    '',
    `Persistence-only floor (the worker's Postgres write path alone, flat out, one ` +
      `connection; persistence-floor.ts): ${whole(input.floor.eventsPerSecond)} events/s ` +
      `(${whole(input.floor.events)} events in ${input.floor.seconds.toFixed(1)} s of writes). ` +
      `The service's batched ingestion: ${whole(input.floor.serviceEventsPerSecond)} events/s, ` +
      `${(input.floor.serviceEventsPerSecond / input.floor.eventsPerSecond).toFixed(2)}× the floor.`,
    '',
    `CPU in cores (CPU-seconds per second, of ${cpu.length}), warm-up included; Redis and ` +
      'Postgres are the whole servers, "other" is the rest of the machine:',
    '',
    '| phase | target | load generator | server | Redis | Postgres | other | machine busy |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...input.rows.map((r) => renderCpu(r.scenario, r.target, r.cpu)),
    ...input.persistence
      .filter((p) => (p.drainSeconds ?? Infinity) >= SHORTEST_PHASE_SECONDS)
      .map((p) => renderCpu(`drain after ${p.scenario}`, 'service', p.drainCpu)),
    '',
    `Drains shorter than ${SHORTEST_PHASE_SECONDS} s get no rate and no CPU row.`,
    '',
    ...renderHeap(
      input.rows.map((r) => ({
        label: `${r.scenario} | ${r.target}`,
        heap: r.heap,
        requests: r.requests,
        unitsPerRequest: r.batchSize,
      })),
      'scenario | target',
    ),
    '',
  ].join('\n');
}

function renderRow({ scenario, target, figures, ratio }: ScenarioRow): string {
  return cells([
    scenario,
    target,
    whole(figures.requestsPerSecond),
    whole(figures.eventsPerSecond),
    whole(figures.p50Ms),
    whole(figures.p99Ms),
    whole(figures.errors),
    `${ratio.toFixed(2)}×`,
  ]);
}

function renderPersistence(p: Persistence, capSeconds: number): string {
  const seconds = p.drainSeconds;
  const rate =
    seconds !== undefined && seconds >= SHORTEST_PHASE_SECONDS
      ? whole((p.rows - p.storedAtStop) / seconds)
      : '–';
  return cells([
    p.scenario,
    whole(p.storedAtStop),
    whole(p.entriesAtStop),
    seconds === undefined ? `> ${capSeconds} s` : `${seconds.toFixed(2)} s`,
    rate,
    whole(p.accepted),
    `${whole(p.unanswered)} (${whole(p.unansweredStored)})`,
    whole(p.rows),
    p.consistent ? 'ok' : `**MISMATCH** (duplicates ${p.duplicates}, rejected ${p.rejected})`,
  ]);
}

function renderCpu(phase: string, target: string, cpu: CpuShares): string {
  const share = (n: number) => n.toFixed(2);
  return cells([
    phase,
    target,
    share(cpu.loadGenerator),
    share(cpu.server),
    share(cpu.redis),
    share(cpu.postgres),
    share(cpu.other),
    share(cpu.machine),
  ]);
}

function cells(values: string[]): string {
  return `| ${values.join(' | ')} |`;
}

function whole(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
