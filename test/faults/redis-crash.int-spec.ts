import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant, ingest } from '../support/api';
import { eventually, TestStack } from '../support/harness';
import { checkLedger, Producers, reportFault } from '../support/ledger';
import { ThrowawayRedis } from '../support/throwaway';

const WINDOW_MS = 2000;

describe('fault: Redis killed with SIGKILL and restarted with its AOF', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start({ appendOnly: true });
    stack = await TestStack.create({ REDIS_URL: redis.url, SHARDS: '4' });
  });

  afterAll(async () => {
    await stack.dispose();
    await redis.dispose();
  });

  // At once: the clients reconnect on their first retry, where ioredis drops the commands
  // that were in flight without settling them (redis.module.ts): nothing may wait forever.
  it.each([
    ['after 1 s', 1000],
    ['at once', 0],
  ])(
    'restarted %s: every acknowledged event counted once, no 5xx but 503 + Retry-After',
    async (when, downMs) => {
      const apps: NestFastifyApplication[] = [await stack.start(), await stack.start()];
      const { tenantId, key } = await createTenant(apps[0]);
      let turn = 0;
      const producers = new Producers((events) => ingest(apps[turn++ % apps.length], key, events), {
        customers: ['a', 'b', 'c', 'd', 'e'],
      });
      producers.start();
      await sleep(1500);
      await redis.kill('SIGKILL');
      await sleep(downMs);
      await redis.restart();
      const restartedAt = Date.now();
      await sleep(1500);
      const ledger = await producers.stop();

      const check = await eventually(async () => {
        const result = await checkLedger(stack.pg, tenantId, ledger, WINDOW_MS);
        expect(result).toMatchObject({ lost: 0, doubleCounted: 0, wrongWindows: 0 });
        expect(result.counted).toBe(result.stored);
        return result;
      }, 30_000);
      reportFault({
        fault: `Redis SIGKILL, restarted with AOF ${when}`,
        ...check,
        requests: ledger.requests,
        serverErrors: ledger.serverErrors,
        unavailable: ledger.unavailable,
        noAnswer: ledger.noAnswer,
        recoveryMs: Date.now() - restartedAt,
      });
      expect(ledger.serverErrors).toBe(0);
      expect(check.acknowledged).toBeGreaterThan(0);
    },
  );
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
