import { SchedulerRegistry } from '@nestjs/schedule';
import { loadConfig } from '../../config/load-config';
import { REQUIRED_ENV } from '../../config/required-env.fixture';
import { Jobs } from './jobs';

function jobs(role: string) {
  const registry = new SchedulerRegistry();
  return { registry, jobs: new Jobs(loadConfig({ ...REQUIRED_ENV, APP_ROLE: role }), registry) };
}

describe('Jobs', () => {
  it('runs nothing on an instance whose role takes no jobs', async () => {
    const { registry, jobs: api } = jobs('api');
    let passes = 0;
    await api.every('j', 1, async () => void passes++, { immediately: true });
    await api.loop(async () => void passes++);
    expect(passes).toBe(0);
    expect(registry.getIntervals()).toEqual([]);
  });

  it('registers a timer, runs a first pass at once when asked, and stops it at shutdown', async () => {
    const { registry, jobs: worker } = jobs('worker');
    let passes = 0;
    await worker.every('j', 60_000, async () => void passes++, { immediately: true });
    expect(passes).toBe(1);
    expect(registry.getIntervals()).toEqual(['j']);
    await worker.beforeApplicationShutdown();
    expect(registry.getIntervals()).toEqual([]);
  });

  it('shuts down cleanly when ScheduleModule cleared the timers first', async () => {
    const { registry, jobs: worker } = jobs('all');
    await worker.every('j', 60_000, async () => undefined);
    registry.deleteInterval('j');
    await expect(worker.beforeApplicationShutdown()).resolves.toBeUndefined();
  });

  it('waits at shutdown for the loop pass in flight, and starts no other', async () => {
    const { jobs: worker } = jobs('all');
    let finish!: () => void;
    let passes = 0;
    let prepared = false;
    await worker.loop(
      () => {
        passes++;
        return new Promise<void>((resolve) => (finish = resolve));
      },
      async () => void (prepared = true),
    );
    expect(prepared).toBe(true);
    let stopped = false;
    const stopping = worker.beforeApplicationShutdown().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(passes).toBe(1);
  });

  it('logs a pass that throws instead of leaving it unhandled', async () => {
    const { jobs: worker } = jobs('all');
    await expect(
      worker.every('j', 60_000, () => Promise.reject(new Error('boom')), { immediately: true }),
    ).resolves.toBeUndefined();
    await worker.beforeApplicationShutdown();
  });
});
