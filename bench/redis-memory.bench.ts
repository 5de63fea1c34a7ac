/**
 * npm run bench:memory — what one event in flight costs in Redis: its member in the
 * window's dedup buckets (kept until window end + max lateness + DEDUP_TTL_SECONDS), its
 * share of the window hash, and its bytes in the stream until persisted; and the dedup
 * state the default horizon holds at a sustained rate.
 *
 * Ingests through the real path into an `api`-role instance (no persistence worker,
 * so the stream keeps everything), then reads MEMORY USAGE of every key by kind.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createApp, shutdown } from '../src/bootstrap';
import type { AppConfig } from '../src/config/app-config';
import { loadConfig } from '../src/config/load-config';
import { IngestionService } from '../src/ingestion/ingestion.service';
import type { MeteringEvent } from '../src/window-store/metering-event';
import { TenantsService } from '../src/tenants/tenants.service';
import { BENCH_APP_ENV } from './in-process-env';
import { recreateDatabase } from './ingest/stores';

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = 'tally_bench_memory';
const EVENTS = 100_000;
const CUSTOMERS = 100;

async function main(): Promise<void> {
  const url = new URL(BASE_URL);
  url.pathname = `/${DB}`;
  await recreateDatabase(url.toString());
  const prefix = `benchmem:${randomBytes(3).toString('hex')}:`;
  // The defaults of the window settings (WINDOW_SECONDS, MAX_LATENESS_SECONDS, DEDUP_TTL_SECONDS).
  const config = loadConfig({
    DATABASE_URL: url.toString(),
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    ...BENCH_APP_ENV,
    APP_ROLE: 'api',
    STREAM_HIGH_WATER: '100000000',
  });
  const app = await createApp(config);
  await app.init();
  const redis = new Redis(REDIS_URL);
  try {
    const { tenant } = await app.get(TenantsService).create('memory');
    const now = Date.now();
    const events: MeteringEvent[] = Array.from({ length: EVENTS }, (_, i) => ({
      eventId: randomUUID(),
      timestampMs: now,
      tenantId: tenant.id,
      customerId: `customer-${i % CUSTOMERS}`,
      endpoint: ['/v1/chat/completions', '/v1/embeddings'][i % 2],
      tokens: 1500,
      inputTokens: 500,
      outputTokens: 1000,
      latencyMs: 234,
      model: ['gpt-4', 'gpt-4o-mini'][i % 2],
      metadata: {
        model: ['gpt-4', 'gpt-4o-mini'][i % 2],
        tokens: 1500,
        inputTokens: 500,
        outputTokens: 1000,
        latencyMs: 234,
      },
    }));
    const ingestion = app.get(IngestionService);
    for (let i = 0; i < EVENTS; i += 1000) await ingestion.ingest(events.slice(i, i + 1000), now);

    const bytes = { dedup: 0, window: 0, stream: 0, index: 0 };
    // Dedup keys: each window's root and its buckets.
    const counts = { dedup: 0, window: 0, stream: 0 };
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const used = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
        const kind = key.includes(':dd:')
          ? 'dedup'
          : key.includes(':w:')
            ? 'window'
            : key.endsWith(':events')
              ? 'stream'
              : 'index';
        bytes[kind] += used;
        if (kind !== 'index') counts[kind]++;
      }
    } while (cursor !== '0');
    const per = (n: number) => (n / EVENTS).toFixed(1);
    const lines = [
      `${EVENTS.toLocaleString('en')} events, ${CUSTOMERS} customers, one window each (${counts.window} window hashes, ${counts.dedup} dedup keys, ${counts.stream} streams)`,
      '',
      '| what | total bytes | bytes per event | lives until |',
      '|---|---:|---:|---|',
      `| dedup bucket members | ${bytes.dedup.toLocaleString('en')} | ${per(bytes.dedup)} | window end + max lateness + DEDUP_TTL_SECONDS |`,
      `| window hashes | ${bytes.window.toLocaleString('en')} | ${per(bytes.window)} | the same (per window, not per event) |`,
      `| persistence stream | ${bytes.stream.toLocaleString('en')} | ${per(bytes.stream)} | persisted (seconds) |`,
      `| open-window indexes, locks | ${bytes.index.toLocaleString('en')} | – | – |`,
      '',
      `Dedup state the default horizon holds at 10,000 events/s: ${horizonGb(config, bytes.dedup / EVENTS)} GB (window ${config.window.ms / 1000} s + max lateness ${config.window.maxLatenessMs / 1000} s + DEDUP_TTL ${config.window.retentionMarginMs / 1000} s).`,
      '',
      `Redis ${(await redis.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?'}, MEMORY USAGE ... SAMPLES 0 (exact).`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    await redis.quit();
    await shutdown(app);
  }
}

/** Dedup bytes held at 10,000 events/s sustained over the horizon an event's member lives. */
function horizonGb(config: AppConfig, bytesPerEvent: number): string {
  const { ms, maxLatenessMs, retentionMarginMs } = config.window;
  return (
    (((10_000 * (ms + maxLatenessMs + retentionMarginMs)) / 1000) * bytesPerEvent) /
    1e9
  ).toFixed(2);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
