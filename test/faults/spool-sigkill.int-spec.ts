import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, eventually, TestStack } from '../support/harness';
import { checkLedger, Producers, reportFault } from '../support/ledger';
import { buildService, freePort, ServiceProcess } from '../support/processes';
import { ThrowawayRedis } from '../support/throwaway';

const WINDOW_MS = 2000;

describe('fault: an instance SIGKILLed with events in its spool', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;
  let service: ServiceProcess;

  beforeAll(async () => {
    buildService();
    redis = await ThrowawayRedis.start({ appendOnly: true });
    stack = await TestStack.create({ REDIS_URL: redis.url, SHARDS: '4' });
    service = new ServiceProcess(await freePort(), {
      ...stack.env,
      APP_PROFILE: 'test',
      LOG_LEVEL: 'info',
    });
    await service.start();
  }, 120_000);

  afterAll(async () => {
    await service.stop('SIGKILL');
    await stack.dispose();
    await redis.dispose();
  });

  it('replays the dead process’s spool when started again: every acknowledged event counted once', async () => {
    const tenant = (await (
      await fetch(`${service.url}/v1/tenants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-admin-token': ADMIN_TOKEN },
        body: JSON.stringify({ name: 'spool-kill' }),
      })
    ).json()) as { tenant: { id: string }; apiKey: { key: string } };
    let spooled = 0;
    const producers = new Producers(
      async (events) => {
        const reply = await fetch(`${service.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': tenant.apiKey.key },
          body: JSON.stringify(events),
        });
        const body = (await reply.json()) as { spooled?: number };
        if (reply.status === 202) spooled += body.spooled ?? 0;
        return { status: reply.status, headers: Object.fromEntries(reply.headers) };
      },
      { customers: ['a', 'b', 'c', 'd', 'e'] },
    );
    producers.start();
    await sleep(1000);
    await redis.kill('SIGKILL');
    await sleep(2000);
    await service.stop('SIGKILL');
    const spooledBeforeKill = spooled;
    const firstRun = service.output;
    await redis.restart();
    // The same SPOOL_DIR: the new process finds the dead one's directory and adopts it.
    await service.start();
    const restartedAt = Date.now();
    await sleep(1000);
    const ledger = await producers.stop();

    const check = await eventually(async () => {
      const result = await checkLedger(stack.pg, tenant.tenant.id, ledger, WINDOW_MS);
      expect(result).toMatchObject({ lost: 0, doubleCounted: 0, wrongWindows: 0 });
      expect(result.counted).toBe(result.stored);
      expect(result.stored).toBe(result.acknowledged);
      expect(service.output).toMatch(/"msg":"replayed \d+ spooled events/);
      return result;
    }, 60_000);
    reportFault({
      fault: 'Instance SIGKILL with a non-empty spool, restarted on it',
      ...check,
      requests: ledger.requests,
      serverErrors: ledger.serverErrors,
      unavailable: ledger.unavailable,
      noAnswer: ledger.noAnswer,
      recoveryMs: Date.now() - restartedAt,
      spooled,
    });
    expect(firstRun).toMatch(/spooling to /);
    expect(spooledBeforeKill).toBeGreaterThan(0);
    expect(service.output).toMatch(/"msg":"adopted [^"]+ \(\d+ bytes spooled by /);
    expect(ledger.serverErrors).toBe(0);
    // What is left: the new process's own directory, no segment in it.
    await eventually(async () => {
      const dirs = readdirSync(stack.env.SPOOL_DIR!);
      expect(dirs).toHaveLength(1);
      expect(readdirSync(join(stack.env.SPOOL_DIR!, dirs[0]))).toEqual(['owner.json']);
    });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
