import { Redis } from 'ioredis';
import { Client } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';

/** Drops and recreates the benchmark's own database, so every run starts empty. */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || name === 'postgres') {
    throw new Error(`refusing to recreate database '${name}': use a throwaway name`);
  }
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

export class EventTable {
  private constructor(private readonly client: Client) {}

  static async connect(databaseUrl: string): Promise<EventTable> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    return new EventTable(client);
  }

  async count(): Promise<number> {
    return (await this.snapshot([])).total;
  }

  /**
   * All stored events, and how many of `eventIds` are among them, from one snapshot so
   * an event landing between two queries cannot skew the comparison.
   */
  async snapshot(eventIds: string[]): Promise<{ total: number; ofIds: number }> {
    const { rows } = await this.client.query<{ total: string; of_ids: string }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE event_id = ANY($1::text[])) AS of_ids
       FROM usage_events`,
      [eventIds],
    );
    return { total: Number(rows[0].total), ofIds: Number(rows[0].of_ids) };
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** The benchmark's view of Redis: only keys under its own prefix. */
export class BenchRedis {
  readonly redis: Redis;

  constructor(
    url: string,
    readonly prefix: string,
    private readonly shards: number,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2 });
  }

  /** Stream entries not yet in Postgres: the persistence worker deletes them after commit. */
  async backlog(): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (let shard = 0; shard < this.shards; shard++) {
      pipeline.xlen(`${this.prefix}{${shard}}:events`);
    }
    const results = (await pipeline.exec()) ?? [];
    return results.reduce((sum, [error, length]) => {
      if (error) throw error;
      return sum + Number(length);
    }, 0);
  }

  /** Seconds from now until the backlog is empty, or undefined past the cap. */
  async secondsToDrain(capSeconds: number): Promise<number | undefined> {
    const start = performance.now();
    while (performance.now() - start < capSeconds * 1000) {
      if ((await this.backlog()) === 0) return (performance.now() - start) / 1000;
      await sleep(20);
    }
    return undefined;
  }

  /** Deletes every key under the prefix; returns how many. */
  async deleteAll(): Promise<number> {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await this.redis.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
