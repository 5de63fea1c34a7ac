import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { EPOCH_LOCK_KEY } from '../../src/redis-epoch/redis-epoch.sql';
import type { StreamedEvent } from '../../src/window-store/stream-entry';
import { SYSTEM_DB_ROLE } from '../../src/infra/database/data-source';
import { batchJson, type StreamEntry } from '../../src/window-store/stream-entry';
import { EPOCH_WRITE_LOCK_SQL, WRITE_NEW_EVENTS_SQL } from '../../src/persistence/event-writer.sql';
import { migrateAsOwner } from '../../src/infra/database/run-migrations';
import { recreateDatabase } from './stores';

const WINDOW_MS = 30_000;

/**
 * Stream entries as the ingest script writes them: each a JSON array of events of one
 * tenant, 50 customers, timestamps spread over the last two seconds.
 */
export function streamEntries(
  tenantId: string,
  entries: number,
  eventsPerEntry: number,
): StreamEntry[] {
  const now = Date.now();
  return Array.from({ length: entries }, (_, n) => {
    const events: StreamedEvent[] = Array.from({ length: eventsPerEntry }, (_, i) => ({
      i: randomUUID(),
      t: tenantId,
      c: `customer-${(n * eventsPerEntry + i) % 50}`,
      ts: now - (i % 2000),
      e: '/v1/chat/completions',
      m: {
        tokens: 1900,
        inputTokens: 1400,
        outputTokens: 500,
        latencyMs: 320,
        model: 'tally-small',
      },
      r: now,
    }));
    return [`${now}-${n}`, ['e', JSON.stringify(events)]];
  });
}

export interface FloorFigures {
  eventsPerSecond: number;
  events: number;
  /** Time spent writing; building the entries between writes is not counted. */
  seconds: number;
}

/**
 * The persistence-only floor: the worker's Postgres write path alone, flat out — one
 * transaction a batch as EventWriter runs it (the system role, the epoch lock, the plain
 * JSON insert), back to back on one connection as the one worker does, on a database of
 * its own. Only the writes are timed: building the entries, which stands for reading
 * them from Redis, is not part of the floor. Batches of `entriesPerBatch` entries of `eventsPerEntry` events.
 */
export async function persistenceFloor(
  databaseUrl: string,
  seconds: number,
  eventsPerEntry: number,
  entriesPerBatch = 20,
): Promise<FloorFigures> {
  await recreateDatabase(databaseUrl);
  await migrateAsOwner(databaseUrl);
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const tenant = await db.query<{ id: string }>(
      `INSERT INTO tenants (name) VALUES ('floor') RETURNING id`,
    );
    const epoch = await db.query<{ epoch_id: string }>(
      `INSERT INTO redis_epoch (epoch_id, started_at) VALUES (gen_random_uuid(), now()) RETURNING epoch_id`,
    );
    const write = async (entries: StreamEntry[]) => {
      await db.query(`BEGIN; SET LOCAL ROLE ${SYSTEM_DB_ROLE}`);
      await db.query(EPOCH_WRITE_LOCK_SQL, [EPOCH_LOCK_KEY]);
      await db.query(WRITE_NEW_EVENTS_SQL, [
        batchJson(entries),
        WINDOW_MS,
        0,
        epoch.rows[0].epoch_id,
      ]);
      await db.query('COMMIT');
    };
    const make = () => streamEntries(tenant.rows[0].id, entriesPerBatch, eventsPerEntry);
    await write(make()); // warm: plans and caches, not timed
    let events = 0;
    let elapsed = 0;
    while (elapsed < seconds) {
      const batch = make();
      const start = performance.now();
      await write(batch);
      elapsed += (performance.now() - start) / 1000;
      events += entriesPerBatch * eventsPerEntry;
    }
    return { eventsPerSecond: events / elapsed, events, seconds: elapsed };
  } finally {
    await db.end();
  }
}
