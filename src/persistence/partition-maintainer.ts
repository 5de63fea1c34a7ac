import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Jobs } from '../infra/jobs/jobs';
import { SystemDatabase } from '../infra/database/system-database';

const DAY_MS = 86_400_000;
const PARTITION_LOCK_KEY = 727_002;
const HOURLY = 3_600_000;

/**
 * Creates the daily (UTC) partitions of usage_events from yesterday to N days ahead,
 * through tally_create_usage_partition(): the application role may not run DDL, and
 * that owner's function creates nothing but the next day's partition.
 */
@Injectable()
export class PartitionMaintainer implements OnApplicationBootstrap {
  private readonly logger = new Logger(PartitionMaintainer.name);

  constructor(
    private readonly systemDb: SystemDatabase,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly jobs: Jobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.every('partition-maintainer', HOURLY, () => this.ensureLogged(), {
      immediately: true,
    });
  }

  /** A failure is logged, not fatal: rows without a partition land in the default one. */
  private async ensureLogged(): Promise<void> {
    await this.ensure(this.clock.now()).catch((error: Error) =>
      this.logger.error(`partition maintenance failed: ${error.message}`),
    );
  }

  async ensure(nowMs: number): Promise<void> {
    const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
    await this.systemDb.runAcrossTenants(async (manager) => {
      // Serialises instances: CREATE ... IF NOT EXISTS alone can still race on the catalog.
      await manager.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK_KEY]);
      for (let day = -1; day <= this.config.persistence.partitionDaysAhead; day++) {
        const date = new Date(today + day * DAY_MS).toISOString().slice(0, 10);
        await manager.query('SELECT tally_create_usage_partition($1::date)', [date]);
      }
    });
    this.logger.debug('partitions ensured');
  }
}
