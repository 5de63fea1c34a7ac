import { setTimeout as sleep } from 'node:timers/promises';
import { DistributedLock } from '../src/infra/lock/distributed-lock';
import { TestStack } from './support/harness';

describe('closer lock', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({ LOCK_TTL_MS: '2000' });
  });

  afterAll(() => stack.dispose());

  it('never lets two instances hold a shard at once', async () => {
    const locks = await Promise.all([1, 2, 3].map(() => stack.start({ APP_ROLE: 'api' })));
    const holders = { now: 0, max: 0, entered: 0, skipped: 0 };
    const resource = `${stack.prefix}{0}:lock:closer`;
    const attempt = async (lock: DistributedLock) => {
      const outcome = await lock.tryWithLock('test', resource, async () => {
        holders.now++;
        holders.entered++;
        holders.max = Math.max(holders.max, holders.now);
        await sleep(15);
        holders.now--;
      });
      if (!outcome.acquired) holders.skipped++;
    };
    const rounds = Array.from({ length: 30 }, () =>
      Promise.all(locks.map((app) => attempt(app.get(DistributedLock)))),
    );
    await Promise.all(rounds);
    expect(holders.max).toBe(1);
    expect(holders.entered).toBeGreaterThan(0);
    expect(holders.skipped).toBeGreaterThan(0);
    expect(holders.entered + holders.skipped).toBe(90);
  });
});
