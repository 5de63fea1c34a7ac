import { Injectable, Logger } from '@nestjs/common';
import { LiveEvents } from '../live/live-events';
import { toWindowView, type WindowRow } from './window-view';

/** Announces flushed windows as `window.closed` on the live stream (src/live). */
@Injectable()
export class WindowPublisher {
  private readonly logger = new Logger(WindowPublisher.name);

  constructor(private readonly live: LiveEvents) {}

  async published(rows: WindowRow[]): Promise<void> {
    const byTenant = new Map<string, WindowRow[]>();
    for (const row of rows)
      byTenant.set(row.tenant_id, [...(byTenant.get(row.tenant_id) ?? []), row]);
    await Promise.all(
      [...byTenant].map(([tenantId, list]) =>
        this.live.publish(
          tenantId,
          list.map((row) => ({
            type: 'window.closed' as const,
            customerId: row.customer_id,
            data: toWindowView(row),
          })),
        ),
      ),
      // The rows are already committed; a lost notification must not fail the flush.
    ).catch((error: Error) => this.logger.warn(`publish: ${error.message}`));
  }
}
