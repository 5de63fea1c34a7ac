import { Injectable } from '@nestjs/common';
import { type TenantOpenOptions, WindowReads } from '../window-store';
import type { WindowContent } from './usage-cells';

/** A window with counts in Redis that may not be in Postgres yet. */
export interface OpenWindow {
  customerId: string;
  windowStartMs: number;
  windowEndMs: number;
  /** The hash revision: Postgres holds the whole window once its flushed_rev reaches it. */
  rev: number;
  content: WindowContent;
}

export interface OpenWindowsRead {
  /** Redis time of the read. */
  nowMs: number;
  windows: OpenWindow[];
}

export type ReadOptions = TenantOpenOptions;

/** Analytics' view of the window store's open windows: their counters as window content. */
@Injectable()
export class OpenWindows {
  constructor(private readonly reads: WindowReads) {}

  /**
   * The tenant's open windows starting in [fromMs, toMs) (all of them by default), of the
   * given customers only when named.
   */
  async read(tenantId: string, options: ReadOptions = {}): Promise<OpenWindowsRead> {
    const { nowMs, windows } = await this.reads.tenantOpen(tenantId, options);
    return {
      nowMs,
      windows: windows.map(({ counters, ...window }) => ({
        ...window,
        rev: counters.rev,
        content: {
          measures: {
            calls: counters.calls,
            tokens: counters.tokens,
            inputTokens: counters.inputTokens,
            outputTokens: counters.outputTokens,
            latencySumMs: counters.latencySumMs,
            latencyCount: counters.latencyCount,
            lateEvents: counters.lateEvents,
          },
          data: counters.data,
        },
      })),
    };
  }

  /** Redis time, the clock the closer judges windows due by. */
  now(): Promise<number> {
    return this.reads.now();
  }
}
