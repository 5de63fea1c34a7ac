import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { buildMarker } from './services';

export default async function globalTeardown(): Promise<void> {
  const template = process.env.TALLY_TEST_TEMPLATE;
  if (template) rmSync(buildMarker(template), { recursive: true, force: true });
  if (template && process.env.DATABASE_URL) {
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
  }
  await Promise.all((globalThis.__TALLY_CONTAINERS__ ?? []).map((c) => c.stop()));
}
