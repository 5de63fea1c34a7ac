/**
 * npm run bench:persist — what the persistence worker's statement costs per event, in
 * Postgres (the backend's CPU, from /proc) and in Node (process.cpuUsage), three ways
 * alternated over several rounds in one run, as `tally_system` in one transaction a batch:
 *  - "unnest + ON CONFLICT": the statement before 74228ab (the baseline): every stream
 *    entry parsed in Node, seven arrays built, customers upsert, then
 *    INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING;
 *  - "JSON, ON CONFLICT": as built, the conflict path (WRITE_EVENTS_SKIPPING_STORED_SQL);
 *  - "JSON, plain": as built, the usual path (WRITE_NEW_EVENTS_SQL).
 * Batches look like the worker's: entries of 60 events, 2,000 events a batch, 50 customers.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Client } from 'pg';
import type { StreamedEvent } from '../src/window-store/stream-entry';
import { SYSTEM_DB_ROLE } from '../src/infra/database/data-source';
import { batchJson, type StreamEntry } from '../src/window-store/stream-entry';
import {
  WRITE_EVENTS_SKIPPING_STORED_SQL,
  WRITE_NEW_EVENTS_SQL,
} from '../src/persistence/event-writer.sql';
import { migrateAsOwner } from '../src/infra/database/run-migrations';
import { streamEntries } from './ingest/persistence-floor';
import { recreateDatabase } from './ingest/stores';

const DATABASE_URL =
  process.env.BENCH_PERSIST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/tally_bench_persist';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 25);
const EVENTS_PER_ENTRY = 60;
const ENTRIES_PER_BATCH = 34;
const WINDOW_MS = 30_000;

const BASELINE_UPSERT = `
INSERT INTO customers (tenant_id, external_id)
SELECT DISTINCT t, c FROM unnest($1::uuid[], $2::text[]) AS u (t, c)
ORDER BY t, c
ON CONFLICT ON CONSTRAINT customers_tenant_external_uq DO NOTHING`;
const BASELINE_INSERT = `
INSERT INTO usage_events (event_id, tenant_id, customer_id, ts, endpoint, metadata, received_at)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::jsonb[], $7::timestamptz[])
ON CONFLICT DO NOTHING`;

type Way = 'unnest + ON CONFLICT' | 'JSON, ON CONFLICT' | 'JSON, plain';

async function baseline(db: Client, entries: StreamEntry[]): Promise<void> {
  const events = entries.flatMap(([, f]) => JSON.parse(f[1]) as StreamedEvent[]);
  const cols: string[][] = [[], [], [], [], [], [], []];
  for (const e of events) {
    const row = [e.i, e.t, e.c, new Date(e.ts).toISOString(), e.e, JSON.stringify(e.m)];
    row.push(new Date(e.r).toISOString());
    row.forEach((value, i) => cols[i].push(value));
  }
  await db.query(BASELINE_UPSERT, [cols[1], cols[2]]);
  await db.query(BASELINE_INSERT, cols);
}

/** `epochId`: the Redis epoch the worker read the entries in, the one recorded (the usual case). */
const WAYS: Record<Way, (db: Client, entries: StreamEntry[], epochId: string) => Promise<unknown>> =
  {
    'unnest + ON CONFLICT': baseline,
    'JSON, ON CONFLICT': (db, entries, epochId) =>
      db.query(WRITE_EVENTS_SKIPPING_STORED_SQL, [batchJson(entries), WINDOW_MS, 0, epochId]),
    'JSON, plain': (db, entries, epochId) =>
      db.query(WRITE_NEW_EVENTS_SQL, [batchJson(entries), WINDOW_MS, 0, epochId]),
  };

/** CPU ms of a process so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function main(): Promise<void> {
  await recreateDatabase(DATABASE_URL);
  await migrateAsOwner(DATABASE_URL);
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    const tenant = await db.query<{ id: string }>(
      `INSERT INTO tenants (name) VALUES ('bench') RETURNING id`,
    );
    const epoch = await db.query<{ epoch_id: string }>(
      `INSERT INTO redis_epoch (epoch_id, started_at) VALUES (gen_random_uuid(), now()) RETURNING epoch_id`,
    );
    const pid = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const totals = new Map<Way, { pgMs: number; nodeUs: number; events: number }>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const way of Object.keys(WAYS) as Way[]) {
        const total = totals.get(way) ?? { pgMs: 0, nodeUs: 0, events: 0 };
        for (let b = 0; b < BATCHES; b++) {
          const entries = streamEntries(tenant.rows[0].id, ENTRIES_PER_BATCH, EVENTS_PER_ENTRY);
          const pg0 = cpuMs(pid);
          const node0 = process.cpuUsage();
          await db.query(`BEGIN; SET LOCAL ROLE ${SYSTEM_DB_ROLE}`);
          await WAYS[way](db, entries, epoch.rows[0].epoch_id);
          await db.query('COMMIT');
          const node = process.cpuUsage(node0);
          total.nodeUs += node.user + node.system;
          total.pgMs += cpuMs(pid) - pg0;
          total.events += ENTRIES_PER_BATCH * EVENTS_PER_ENTRY;
        }
        totals.set(way, total);
      }
    }
    process.stdout.write(render(totals));
  } finally {
    await db.end();
  }
}

function render(totals: Map<Way, { pgMs: number; nodeUs: number; events: number }>): string {
  const base = totals.get('unnest + ON CONFLICT')!;
  const pgPer = (t: { pgMs: number; events: number }) => (t.pgMs * 1000) / t.events;
  const lines = [
    `# Persistence statement benchmark, ${new Date().toISOString()}`,
    '',
    `Command: \`npm run bench:persist\` (BENCH_ROUNDS=${ROUNDS}, BENCH_BATCHES=${BATCHES}); ` +
      `batches of ${ENTRIES_PER_BATCH * EVENTS_PER_ENTRY} events, alternated per round.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    '',
    '| way | events | Postgres µs/event | Node µs/event | Postgres vs baseline |',
    '|---|---:|---:|---:|---:|',
    ...[...totals].map(
      ([way, t]) =>
        `| ${way} | ${t.events} | ${pgPer(t).toFixed(1)} | ${(t.nodeUs / t.events).toFixed(1)} | ${(pgPer(t) / pgPer(base)).toFixed(2)}× |`,
    ),
    '',
  ];
  return lines.join('\n');
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
