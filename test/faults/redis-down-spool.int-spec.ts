import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from '../../src/infra/spool/spool';
import { Metrics } from '../../src/infra/metrics/metrics';
import { createTenant, ingest } from '../support/api';
import { eventually, TestStack } from '../support/harness';
import { checkLedger, Producers, reportFault } from '../support/ledger';
import { ThrowawayRedis } from '../support/throwaway';

const WINDOW_MS = 2000;

describe('fault: Redis down for seconds under load, instances spooling', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start({ appendOnly: true });
    // Max lateness of 1 s: events spooled early in the outage are past it when replayed
    // and take the raw-event path (stored, window recomputed), the later ones are counted
    // late in Redis. Both replay paths are in the run.
    stack = await TestStack.create({
      REDIS_URL: redis.url,
      SHARDS: '4',
      MAX_LATENESS_SECONDS: '1',
    });
  });

  afterAll(async () => {
    await stack.dispose();
    await redis.dispose();
  });

  it('keeps answering 202 from the spools; after Redis returns, windows == raw events == acknowledged', async () => {
    // Each instance its own spool root, as on two hosts.
    const apps: NestFastifyApplication[] = [];
    for (const name of ['a', 'b']) {
      const dir = mkdtempSync(join(stack.env.SPOOL_DIR!, `${name}-`));
      apps.push(await stack.start({ SPOOL_DIR: dir }));
    }
    const { tenantId, key } = await createTenant(apps[0]);
    let turn = 0;
    let spooled = 0;
    const producers = new Producers(
      async (events) => {
        const reply = await ingest(apps[turn++ % apps.length], key, events);
        if (reply.status === 202) spooled += (reply.body as { spooled?: number }).spooled ?? 0;
        return reply;
      },
      { customers: ['a', 'b', 'c', 'd', 'e'] },
    );
    producers.start();
    await sleep(1500);
    await redis.kill('SIGKILL');
    await sleep(4000);
    const spooledWhileDown = spooled;
    await redis.restart();
    const restartedAt = Date.now();
    await sleep(1500);
    const ledger = await producers.stop();

    const check = await eventually(async () => {
      for (const app of apps) expect(app.get(Spool).usedBytes()).toBe(0);
      const result = await checkLedger(stack.pg, tenantId, ledger, WINDOW_MS);
      expect(result).toMatchObject({ lost: 0, doubleCounted: 0, wrongWindows: 0 });
      expect(result.counted).toBe(result.stored);
      expect(result.stored).toBe(result.acknowledged);
      return result;
    }, 60_000);
    reportFault({
      fault: 'Redis down 4 s, two instances spooling',
      ...check,
      requests: ledger.requests,
      serverErrors: ledger.serverErrors,
      unavailable: ledger.unavailable,
      noAnswer: ledger.noAnswer,
      recoveryMs: Date.now() - restartedAt,
      spooled,
    });
    expect(ledger.serverErrors).toBe(0);
    expect(spooledWhileDown).toBeGreaterThan(0);
    const replayed: Record<string, number> = {};
    for (const app of apps) {
      for (const { labels, value } of (await app.get(Metrics).replayedEvents.get()).values) {
        replayed[labels.outcome!] = (replayed[labels.outcome!] ?? 0) + value;
      }
    }
    expect(replayed.beyond).toBeGreaterThan(0);
    expect(replayed.counted + replayed.late + replayed.beyond).toBeGreaterThan(0);
    // Every spooled event had its outcome (a segment whose replay failed part-way is replayed whole again).
    expect(Object.values(replayed).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(spooled);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
