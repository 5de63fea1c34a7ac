import { Injectable, Logger } from '@nestjs/common';
import { type LiveEventInput, LiveEvents } from '../live';
import { toWindowView, type WindowRow } from './window-view';

/** Called with the rows a flush or recompute committed, before the closer goes on. */
export type CommittedListener = (rows: WindowRow[]) => Promise<void>;

/**
 * Announces flushed windows to the listeners of this instance (analytics' cache
 * versions), then as `window.closed` on the live stream (src/live, docs/live.md).
 */
@Injectable()
export class WindowPublisher {
  private readonly logger = new Logger(WindowPublisher.name);
  private readonly listeners: CommittedListener[] = [];

  constructor(private readonly live: LiveEvents) {}

  onCommitted(listener: CommittedListener): void {
    this.listeners.push(listener);
  }

  async published(rows: WindowRow[]): Promise<void> {
    if (rows.length === 0) return;
    for (const listener of this.listeners) await listener(rows);
    const byTenant = new Map<string, LiveEventInput[]>();
    for (const row of rows) {
      const event: LiveEventInput = {
        type: 'window.closed',
        customerId: row.customer_id,
        data: toWindowView(row),
      };
      const list = byTenant.get(row.tenant_id);
      if (list) list.push(event);
      else byTenant.set(row.tenant_id, [event]);
    }
    const appends = [...byTenant].map(([tenantId, events]) => this.live.publish(tenantId, events));
    // The rows are already committed; a lost notification must not fail the flush.
    await Promise.all(appends).catch((error: Error) =>
      this.logger.warn(`publish: ${error.message}`),
    );
  }
}
