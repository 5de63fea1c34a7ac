import { Client } from 'pg';
import { UPSERT_FROM_REDIS_SQL } from '../../src/windows/windows.sql';
import { migrateAsOwner } from '../../src/infra/database/run-migrations';
import { recreateDatabase } from '../ingest/stores';

const TENANT = 'b0000000-0000-4000-8000-0000000f1054';
const ENDPOINTS = ['/api/chat', '/api/completion', '/api/embed'];
const MODELS = ['gpt-4', 'mini'];

export interface FlushCost {
  windows: number;
  rounds: number;
  /** Median ms of one flush statement, by path. */
  insert: { with: number; without: number };
  update: { with: number; without: number };
}

/**
 * The closer's flush statement (UPSERT_FROM_REDIS_SQL) for `windows` windows of distinct
 * customers, first as inserts (a new window each) then as updates (the same windows at a
 * newer revision, as after late events), with the rollup triggers enabled and disabled in
 * alternate rounds, in its own database. As the closer runs it: one transaction as
 * tally_system.
 */
export async function measureFlushCost(
  databaseUrl: string,
  windows = 500,
  rounds = 20,
): Promise<FlushCost> {
  await recreateDatabase(databaseUrl);
  await migrateAsOwner(databaseUrl);
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const times = {
    insert: { with: [] as number[], without: [] as number[] },
    update: { with: [] as number[], without: [] as number[] },
  };
  try {
    await db.query(`INSERT INTO tenants (id, name) VALUES ($1, 'flush-cost')`, [TENANT]);
    const base = Math.floor(Date.now() / 30_000) * 30_000 - 86_400_000;
    for (let round = 0; round < rounds * 2; round++) {
      const withTrigger = round % 2 === 0;
      await db.query(
        `ALTER TABLE aggregation_windows ${withTrigger ? 'ENABLE' : 'DISABLE'} TRIGGER USER`,
      );
      const start = base + round * 30_000;
      for (const [path, rev] of [
        ['insert', 1],
        ['update', 2],
      ] as const) {
        const params = columns(windows, start, rev);
        await db.query('BEGIN');
        await db.query('SET LOCAL ROLE tally_system');
        const started = performance.now();
        await db.query(UPSERT_FROM_REDIS_SQL, params);
        times[path][withTrigger ? 'with' : 'without'].push(performance.now() - started);
        await db.query('COMMIT');
      }
    }
    await db.query('ALTER TABLE aggregation_windows ENABLE TRIGGER USER');
  } finally {
    await db.end();
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
  return {
    windows,
    rounds,
    insert: { with: median(times.insert.with), without: median(times.insert.without) },
    update: { with: median(times.update.with), without: median(times.update.without) },
  };
}

/** The statement's 13 array parameters, as WindowsRepository.upsertFromRedis builds them. */
function columns(windows: number, startMs: number, rev: number): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 13 }, () => []);
  for (let c = 0; c < windows; c++) {
    const calls = 1 + ((c + rev) % 20);
    const data = {
      byEndpoint: Object.fromEntries(
        ENDPOINTS.map((e, i) => [e, { calls: calls + i, tokens: (calls + i) * 300 }]),
      ),
      byModel: Object.fromEntries(
        MODELS.map((m, i) => [m, { calls: calls + i, tokens: (calls + i) * 300 }]),
      ),
    };
    [
      TENANT,
      `c-${c}`,
      new Date(startMs).toISOString(),
      new Date(startMs + 30_000).toISOString(),
      calls,
      calls * 300,
      calls * 100,
      calls * 200,
      calls * 120,
      calls,
      JSON.stringify(data),
      0,
      rev,
    ].forEach((value, i) => cols[i].push(value));
  }
  return cols;
}
