/**
 * npm run bench:spool — what the spool takes while Redis is down: C concurrent writers
 * (requests in flight), each appending one request of B events at a time, for a few
 * seconds against SPOOL_DIR (default: a temporary folder on this machine's disk). Every
 * append resolves only after its group's fdatasync, as a 202 does. Prints requests and
 * events per second, append latency, and how many appends shared each fdatasync.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load-config';
import { Spool } from '../src/infra/spool/spool';
import type { MeteringEvent } from '../src/window-store/metering-event';
import { encodeSpooled } from '../src/ingestion/spooled-request';
import { Metrics } from '../src/infra/metrics/metrics';

const SECONDS = Number(process.env.SECONDS ?? 5);
const SCENARIOS = [
  { writers: 1, batch: 1 },
  { writers: 16, batch: 1 },
  { writers: 64, batch: 1 },
  { writers: 4, batch: 100 },
  { writers: 16, batch: 100 },
];

function request(batch: number): Buffer {
  const events: MeteringEvent[] = Array.from({ length: batch }, (_, i) => ({
    eventId: `7f9c24e5-4a1f-4a8e-9a57-${String(i).padStart(12, '0')}`,
    timestampMs: Date.now(),
    tenantId: '6d3f4c1e-9a51-4c5f-8d2e-0123456789ab',
    customerId: `c-${i % 50}`,
    endpoint: '/api/completion',
    tokens: 1500,
    inputTokens: 500,
    outputTokens: 1000,
    latencyMs: 234,
    model: 'gpt-4',
    metadata: {
      model: 'gpt-4',
      inputTokens: 500,
      outputTokens: 1000,
      latencyMs: 234,
      tokens: 1500,
    },
  }));
  return encodeSpooled({ receivedAtMs: Date.now(), events });
}

async function run(root: string, writers: number, batch: number) {
  const dir = mkdtempSync(join(root, 'run-'));
  const config = loadConfig({
    DATABASE_URL: 'postgres://bench@localhost/unused',
    REDIS_URL: 'redis://localhost',
    ADMIN_TOKEN: 'a'.repeat(16),
    API_KEY_SECRET: 's'.repeat(32),
    JWT_SECRET: 'j'.repeat(32),
    ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    SPOOL_DIR: dir,
    SPOOL_MAX_BYTES: String(64 * 2 ** 30),
  });
  const spool = new Spool(config, new Metrics());
  await spool.onModuleInit();
  spool.onApplicationBootstrap(); // the heartbeat that keeps its lease
  const payload = request(batch);
  const latencies: number[] = [];
  let appends = 0;
  const end = performance.now() + SECONDS * 1000;
  const writer = async () => {
    while (performance.now() < end) {
      const start = performance.now();
      await spool.append(payload);
      latencies.push(performance.now() - start);
      appends++;
    }
  };
  const syncs = await countSyncs();
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  const seconds = (performance.now() - started) / 1000;
  const fdatasyncs = syncs.stop();
  await spool.onApplicationShutdown();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    writers,
    batch,
    bytes: payload.length + 8,
    requestsPerSecond: appends / seconds,
    eventsPerSecond: (appends * batch) / seconds,
    p50: at(0.5),
    p99: at(0.99),
    perSync: appends / fdatasyncs,
  };
}

/** Counts fdatasync calls on every FileHandle while a scenario runs. */
async function countSyncs(): Promise<{ stop: () => number }> {
  const path = join(tmpdir(), `spool-bench-probe-${process.pid}`);
  const probe = await open(path, 'w');
  const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  rmSync(path);
  const original = prototype.datasync;
  let count = 0;
  prototype.datasync = function (this: unknown) {
    count++;
    return original.call(this);
  };
  return {
    stop: () => {
      prototype.datasync = original;
      return count;
    },
  };
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const root = process.env.SPOOL_DIR ?? mkdtempSync(join(tmpdir(), 'tally-spool-bench-'));
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; spool in ${root}; ${SECONDS} s per row`,
  );
  console.log('');
  console.log(
    '| writers | events/request | bytes/record | requests/s | events/s | append p50 ms | append p99 ms | appends per fdatasync |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { writers, batch } of SCENARIOS) {
    const r = await run(root, writers, batch);
    console.log(
      `| ${r.writers} | ${r.batch} | ${r.bytes} | ${Math.round(r.requestsPerSecond)} | ${Math.round(r.eventsPerSecond)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.perSync.toFixed(1)} |`,
    );
  }
  if (!process.env.SPOOL_DIR) rmSync(root, { recursive: true, force: true });
}

void main();
