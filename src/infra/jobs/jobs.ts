import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, type AppConfig, runsJobs } from '../../config/app-config';

/**
 * The one way a background job runs: on a timer (`every`) or back to back (`loop`), on an
 * instance whose APP_ROLE runs jobs (`worker`, `all`) and on no other: the role gate is
 * here, not in each job. Timers are Nest's SchedulerRegistry's; shutdown stops them and
 * waits for the passes in flight (their locks and transactions end before the
 * connections close).
 */
@Injectable()
export class Jobs implements BeforeApplicationShutdown {
  private readonly logger = new Logger(Jobs.name);
  private readonly names: string[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  /**
   * `pass` every `intervalMs`; with `immediately`, a first pass before this resolves. A
   * pass skips its own overlaps if it needs to (a slow pass is not queued behind).
   */
  async every(
    name: string,
    intervalMs: number,
    pass: () => Promise<void>,
    { immediately = false }: { immediately?: boolean } = {},
  ): Promise<void> {
    if (!runsJobs(this.config)) return;
    if (immediately) await this.track(pass());
    const timer = setInterval(() => void this.track(pass()), intervalMs);
    timer.unref();
    this.scheduler.addInterval(name, timer);
    this.names.push(name);
  }

  /** `pass` again and again until shutdown, after `prepare` (awaited before this resolves). */
  async loop(pass: () => Promise<void>, prepare?: () => Promise<void>): Promise<void> {
    if (!runsJobs(this.config)) return;
    await prepare?.();
    void this.track(
      (async () => {
        while (!this.stopping) await pass();
      })(),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    // ScheduleModule's own shutdown hook may have cleared every interval already.
    for (const name of this.names.splice(0)) {
      if (this.scheduler.doesExist('interval', name)) this.scheduler.deleteInterval(name);
    }
    await Promise.allSettled([...this.inFlight]);
  }

  /** Jobs handle their own failures; one that escapes is logged, never left unhandled. */
  private track(pass: Promise<void>): Promise<void> {
    const settled: Promise<void> = pass
      .catch((error: Error) => this.logger.error(`a job failed: ${error.message}`))
      .finally(() => this.inFlight.delete(settled));
    this.inFlight.add(settled);
    return settled;
  }
}
