import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { type CustomerWindow, WindowReads, windowStartOf } from '../window-store';
import type { UsageWindow } from './live-event';

export type { CustomerWindow };

/** The live module's view of the window store: running totals as usage.updated carries them. */
@Injectable()
export class WindowCounters {
  private readonly windowMs: number;

  constructor(
    private readonly reads: WindowReads,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.windowMs = config.window.ms;
  }

  windowStartOf(timestampMs: number): number {
    return windowStartOf(timestampMs, this.windowMs);
  }

  /** The running totals of each window, in order; null where its hash is gone (expired). */
  async read(windows: CustomerWindow[]): Promise<(UsageWindow | null)[]> {
    const counters = await this.reads.counters(windows);
    return counters.map((c, i) => {
      if (c === null) return null;
      const start = windows[i].windowStartMs;
      return {
        windowStart: new Date(start).toISOString(),
        windowEnd: new Date(start + this.windowMs).toISOString(),
        calls: c.calls,
        tokens: c.tokens,
        inputTokens: c.inputTokens,
        outputTokens: c.outputTokens,
        // Rounded as the flush rounds it (windows.sql.ts), so both events agree.
        avgLatencyMs:
          c.latencyCount > 0 ? Math.round((c.latencySumMs / c.latencyCount) * 100) / 100 : null,
        lateEvents: c.lateEvents,
      };
    });
  }
}
