import { cpus, totalmem } from 'node:os';
import type { CpuShares } from '../ingest/cpu';
import type { LoadFigures } from '../ingest/load';
import type { DelayFigures } from './probes';

export interface StreamRow {
  round: number;
  clients: number;
  ingest: LoadFigures;
  cpu: CpuShares;
  /** The stream clients' process, in cores. */
  clientsCpu: number;
  delivery?: { events: number; eventsPerSecond: number; ended: number; delays: DelayFigures };
}

/** Service memory added per open stream, idle (the slope over four steps up to `streams`). */
export interface MemoryFigures {
  streams: number;
  rssBytesPerStream: number;
  heapBytesPerStream: number;
}

export interface StreamReportInput {
  startedAt: Date;
  revision: string;
  command: string;
  settings: string;
  rows: StreamRow[];
  memory: MemoryFigures;
}

const TARGET_P99_MS = 1500;
const TARGET_RATIO = 0.9;

export function renderStreamReport(input: StreamReportInput): string {
  const cpu = cpus();
  const n = (value: number, digits = 0) =>
    Number.isFinite(value)
      ? value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : '–';
  const baseline = (round: number) =>
    input.rows.find((r) => r.round === round && r.clients === 0)?.ingest.eventsPerSecond ?? NaN;
  const lines = [
    `# Stream benchmark, ${input.startedAt.toISOString()}`,
    '',
    `Command: \`${input.command}\``,
    '',
    `Code: ${input.revision}`,
    '',
    `Settings: ${input.settings}`,
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}; service, ` +
      'Redis, Postgres, the load generator and the stream clients all on it.',
    '',
    '| round | streams | ingest events/s | vs none | ingest p99 ms | events delivered/s | per stream/s | delay p50 ms | p90 | p99 | max | samples | missing | streams ended | service CPU | Redis CPU | Postgres CPU | load generator CPU | stream clients CPU | other CPU |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of input.rows) {
    const d = row.delivery;
    const ratio = row.ingest.eventsPerSecond / baseline(row.round);
    lines.push(
      `| ${row.round} | ${row.clients} | ${n(row.ingest.eventsPerSecond)} | ` +
        `${row.clients === 0 ? '1' : n(ratio, 2)} | ${n(row.ingest.p99Ms)} | ` +
        `${d ? n(d.eventsPerSecond) : ''} | ${d ? n(d.eventsPerSecond / row.clients, 1) : ''} | ` +
        `${d ? n(d.delays.p50Ms) : ''} | ${d ? n(d.delays.p90Ms) : ''} | ` +
        `${d ? n(d.delays.p99Ms) : ''} | ${d ? n(d.delays.maxMs) : ''} | ` +
        `${d ? n(d.delays.samples) : ''} | ${d ? n(d.delays.missing) : ''} | ` +
        `${d ? n(d.ended) : ''} | ${n(row.cpu.server, 2)} | ${n(row.cpu.redis, 2)} | ` +
        `${n(row.cpu.postgres, 2)} | ` +
        `${n(row.cpu.loadGenerator, 2)} | ${n(row.clientsCpu, 2)} | ` +
        `${n(Math.max(0, row.cpu.other - row.clientsCpu), 2)} |`,
    );
  }
  lines.push('');
  lines.push(
    `Memory per idle stream (slope over 0 → ${input.memory.streams} streams in four steps): ` +
      `${n(input.memory.rssBytesPerStream / 1024, 1)} KiB resident, ` +
      `${n(input.memory.heapBytesPerStream / 1024, 1)} KiB of V8 heap. ` +
      'CPU in cores of the machine\'s two; "other" is everything else running on it ' +
      '(the prober, other programs).',
    '',
  );
  for (const row of input.rows.filter((r) => r.clients >= 1000 && r.delivery)) {
    const p99 = row.delivery!.delays.p99Ms;
    const ratio = row.ingest.eventsPerSecond / baseline(row.round);
    lines.push(
      `Round ${row.round}, ${row.clients} streams: p99 delivery ${n(p99)} ms against ≤ ` +
        `${TARGET_P99_MS} ms (${p99 <= TARGET_P99_MS ? 'met' : `missed by ${n(p99 - TARGET_P99_MS)} ms`}); ` +
        `ingest at ${n(ratio * 100, 1)} % of the run without streams against ≥ ` +
        `${TARGET_RATIO * 100} % (${ratio >= TARGET_RATIO ? 'met' : `missed by ${n((TARGET_RATIO - ratio) * 100, 1)} points`}).`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
