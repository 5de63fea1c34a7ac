import { Client } from 'pg';
import { hashKey } from '../../src/api-keys/api-key-codec';
import { migrateAsOwner } from '../../src/infra/database/run-migrations';

export const TENANT_ID = 'b0000000-0000-4000-8000-000000000014';
export const CUSTOMERS = 200;
export const DAYS = 7;
const WINDOW_S = 30;

export interface Dataset {
  generatedAtMs: number;
  windows: number;
  reused: boolean;
  generationSeconds: number | null;
}

/**
 * The benchmark's data, made once and kept in its own database: one tenant, CUSTOMERS
 * customers each with a window every 30 s for DAYS days up to the generation time
 * (CUSTOMERS × DAYS × 2,880 windows), three endpoints and two models per window. The
 * windows go in one day per statement through the rollup trigger, so the rollups are made
 * the way the service makes them. A later run reuses it unless it is older than
 * `maxAgeMs` (or the schema moved on); the report gives its age.
 */
export async function ensureDataset(
  databaseUrl: string,
  apiKey: string,
  apiKeySecret: string,
  maxAgeMs: number,
): Promise<Dataset> {
  await ensureDatabase(databaseUrl);
  await migrateAsOwner(databaseUrl);
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      `CREATE TABLE IF NOT EXISTS bench_dataset (generated_at timestamptz NOT NULL, windows bigint NOT NULL)`,
    );
    const { rows } = await db.query<{ generated_at: Date; windows: string }>(
      'SELECT * FROM bench_dataset',
    );
    const expected = CUSTOMERS * DAYS * (86_400 / WINDOW_S);
    if (
      rows[0] &&
      Number(rows[0].windows) === expected &&
      Date.now() - rows[0].generated_at.getTime() < maxAgeMs
    ) {
      await upsertKey(db, apiKey, apiKeySecret);
      return {
        generatedAtMs: rows[0].generated_at.getTime(),
        windows: expected,
        reused: true,
        generationSeconds: null,
      };
    }
    const started = performance.now();
    await db.query('DELETE FROM bench_dataset');
    await db.query('DELETE FROM tenants WHERE id = $1', [TENANT_ID]);
    await db.query(`INSERT INTO tenants (id, name) VALUES ($1, 'bench-analytics')`, [TENANT_ID]);
    await upsertKey(db, apiKey, apiKeySecret);
    const end = Math.floor(Date.now() / 1000 / WINDOW_S) * WINDOW_S;
    for (let day = DAYS; day >= 1; day--) {
      const from = end - day * 86_400;
      await db.query(
        `INSERT INTO aggregation_windows (tenant_id, customer_id, window_start, window_end,
           total_calls, total_tokens, total_input_tokens, total_output_tokens, latency_sum_ms,
           latency_count, avg_latency_ms, aggregation_data, flushed_rev)
         SELECT $1, 'c-' || lpad(c::text, 3, '0'), ws, ws + interval '30 seconds',
                n, n * 300, n * 100, n * 200, n * 120, n, 120,
                jsonb_build_object(
                  'byEndpoint', jsonb_build_object(
                    '/api/chat', jsonb_build_object('calls', n - n / 2, 'tokens', (n - n / 2) * 300),
                    '/api/completion', jsonb_build_object('calls', n / 2 - n / 4, 'tokens', (n / 2 - n / 4) * 300),
                    '/api/embed', jsonb_build_object('calls', n / 4, 'tokens', (n / 4) * 300)),
                  'byModel', jsonb_build_object(
                    'gpt-4', jsonb_build_object('calls', n - n / 3, 'tokens', (n - n / 3) * 300),
                    'mini', jsonb_build_object('calls', n / 3, 'tokens', (n / 3) * 300))),
                1
         FROM generate_series(1, $2) AS c,
              generate_series(to_timestamp($3), to_timestamp($4) - interval '30 seconds', interval '30 seconds') AS ws,
              LATERAL (SELECT 1 + ((c * 7 + extract(epoch FROM ws)::bigint / 30) % 20)::int AS n) AS x`,
        [TENANT_ID, CUSTOMERS, from, from + 86_400],
      );
      process.stderr.write(`dataset: day ${DAYS - day + 1} of ${DAYS} written\n`);
    }
    await db.query('VACUUM ANALYZE aggregation_windows, usage_rollups, usage_rollup_breakdowns');
    await db.query('INSERT INTO bench_dataset VALUES (to_timestamp($1), $2)', [end, expected]);
    return {
      generatedAtMs: end * 1000,
      windows: expected,
      reused: false,
      generationSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    await db.end();
  }
}

async function upsertKey(db: Client, apiKey: string, apiKeySecret: string): Promise<void> {
  await db.query(
    `INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes)
     VALUES ($1, 'bench', $2, $3, '{read}')
     ON CONFLICT (key_hash) DO NOTHING`,
    [TENANT_ID, apiKey.split('_')[1], hashKey(apiKey, apiKeySecret)],
  );
}

async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || name === 'postgres') {
    throw new Error(`refusing to use database '${name}': use a throwaway name`);
  }
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}
