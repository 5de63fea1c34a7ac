import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS } from '../infra/redis/redis.tokens';
import { RedisLayout } from './redis-layout';
import { toWindowView, type WindowRow } from './window-view';

/** Called with the rows a flush or recompute committed, before the closer goes on. */
export type CommittedListener = (rows: WindowRow[]) => Promise<void>;

/**
 * Announces flushed windows on the tenant's channel (read by live views and the SSE
 * stream), and to the listeners of this instance (analytics' cache versions).
 */
@Injectable()
export class WindowPublisher {
  private readonly logger = new Logger(WindowPublisher.name);
  private readonly listeners: CommittedListener[] = [];

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly layout: RedisLayout,
  ) {}

  onCommitted(listener: CommittedListener): void {
    this.listeners.push(listener);
  }

  async published(rows: WindowRow[]): Promise<void> {
    if (rows.length === 0) return;
    for (const listener of this.listeners) await listener(rows);
    const pipeline = this.redis.pipeline();
    for (const row of rows) {
      const message = JSON.stringify({ type: 'window.closed', data: toWindowView(row) });
      pipeline.publish(this.layout.updatesChannel(row.tenant_id), message);
    }
    // The rows are already committed; a lost notification must not fail the flush.
    await pipeline.exec().catch((error: Error) => this.logger.warn(`publish: ${error.message}`));
  }
}
