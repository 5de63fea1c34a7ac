import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant, event, type EventInput, ingest, request } from '../support/api';
import { eventually, TestStack } from '../support/harness';
import { checkLedger, Producers, reportFault } from '../support/ledger';
import { ThrowawayRedis } from '../support/throwaway';

const WINDOW_MS = 2000;
const COMMAND_TIMEOUT_MS = 1000;
const QUOTA_TIMEOUT_MS = 500;
const STALL_MS = 5000;
/**
 * An ingest request may wait for the limiter (fail-open after QUOTA_REDIS_TIMEOUT_MS),
 * then for its script (REDIS_COMMAND_TIMEOUT_MS); the rest is slack for a loaded box.
 */
const INGEST_BOUND_MS = COMMAND_TIMEOUT_MS + 1500;
/** The readiness checks' own bound is 1 s. */
const READY_BOUND_MS = 2000;

describe('fault: Redis stalled (SIGSTOP) for longer than the command timeout', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start({ appendOnly: true });
    stack = await TestStack.create({
      REDIS_URL: redis.url,
      SHARDS: '4',
      REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      QUOTA_REDIS_TIMEOUT_MS: String(QUOTA_TIMEOUT_MS),
    });
  });

  afterAll(async () => {
    redis.resume();
    await stack.dispose();
    await redis.dispose();
  });

  async function timed<T>(call: () => Promise<T>): Promise<[T, number]> {
    const startedAt = performance.now();
    const result = await call();
    return [result, performance.now() - startedAt];
  }

  it('answers 503 + Retry-After within its bound, and counts every acknowledged event once', async () => {
    const apps: NestFastifyApplication[] = [await stack.start(), await stack.start()];
    const { tenantId, key } = await createTenant(apps[0]);
    let turn = 0;
    const producers = new Producers((events) => ingest(apps[turn++ % apps.length], key, events), {
      customers: ['a', 'b', 'c', 'd', 'e'],
    });
    const { ledger } = producers;
    producers.start();
    await sleep(1500);

    redis.pause();
    // Resumed on a timer, not after the requests below: they must answer while it stalls.
    const resumed = sleep(STALL_MS).then(() => {
      redis.resume();
      return Date.now();
    });
    const probe: EventInput[] = [
      event({ timestamp: new Date().toISOString(), customerId: 'probe', apiEndpoint: '/p' }),
    ];
    for (const e of probe) ledger.sent.set(e.eventId!, e);
    const [refused, ingestMs] = await timed(() => ingest(apps[0], key, probe));
    ledger.record(probe, refused);
    const [ready, readyMs] = await timed(() => request(apps[1], 'GET', '/health/ready'));
    const resumedAt = await resumed;

    // The service works again: the probe, sent again as a producer would, is taken.
    const retried = await eventually(async () => {
      const reply = await ingest(apps[0], key, probe);
      expect(reply.status).toBe(202);
      return reply;
    });
    ledger.record(probe, retried);
    expect((await request(apps[1], 'GET', '/health/ready')).status).toBe(200);
    await sleep(1500);
    await producers.stop();

    const check = await eventually(async () => {
      const result = await checkLedger(stack.pg, tenantId, ledger, WINDOW_MS);
      expect(result).toMatchObject({ lost: 0, doubleCounted: 0, wrongWindows: 0 });
      // Every producer retried until a 202, so what is stored is exactly what was acknowledged.
      expect(result.stored).toBe(result.acknowledged);
      expect(result.counted).toBe(result.stored);
      return result;
    }, 30_000);
    reportFault({
      fault: `Redis SIGSTOP ${STALL_MS / 1000} s (command timeout ${COMMAND_TIMEOUT_MS} ms)`,
      ...check,
      requests: ledger.requests,
      serverErrors: ledger.serverErrors,
      unavailable: ledger.unavailable,
      noAnswer: ledger.noAnswer,
      recoveryMs: Date.now() - resumedAt,
    });

    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(ingestMs).toBeLessThan(INGEST_BOUND_MS);
    expect(ready.status).toBe(503);
    expect(readyMs).toBeLessThan(READY_BOUND_MS);
    expect(ledger.serverErrors).toBe(0);
    expect(ledger.noAnswer).toBe(0);
    expect(ledger.unavailable).toBeGreaterThan(1);
    expect(check.acknowledged).toBe(check.sent);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
