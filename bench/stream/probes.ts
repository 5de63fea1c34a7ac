import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** Probe customers' ids start with this (the stream clients parse only their updates). */
export const PROBE_PREFIX = 'probe-';

/** One probe event, answered 202 at `answeredAt`: its window then held `calls` calls. */
export interface Probe {
  customerId: string;
  windowStart: string;
  calls: number;
  answeredAt: number;
}

export interface DelayFigures {
  probes: number;
  /** Probe × stream pairs measured. */
  samples: number;
  /** Pairs where the stream never showed the probe's count. */
  missing: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Probe customers that receive nothing but these events, one at a time each, every
 * `intervalMs` or so: each is always busy, so its updates are coalesced as a busy
 * customer's are, and the count after each 202 is known exactly.
 */
export class Probes {
  readonly sent: Probe[] = [];
  private stopped = false;
  private running?: Promise<void>;

  /**
   * `tag` makes this run's customers its own: a window shared with an earlier run's probes
   * would hold their calls too, and the counts here would be too low.
   */
  constructor(
    private readonly eventsUrl: string,
    private readonly headers: Record<string, string>,
    private readonly windowMs: number,
    private readonly tag: string,
    private readonly customers = 10,
    private readonly intervalMs = 300,
  ) {}

  start(): void {
    this.stopped = false;
    const counts = new Map<string, number>();
    this.running = Promise.all(
      Array.from({ length: this.customers }, async (_, i) => {
        const customerId = `${PROBE_PREFIX}${this.tag}-${i}`;
        await sleep(Math.random() * this.intervalMs);
        while (!this.stopped) {
          const now = Date.now();
          const windowStart = new Date(Math.floor(now / this.windowMs) * this.windowMs);
          const body = JSON.stringify({
            eventId: randomUUID(),
            timestamp: new Date(now).toISOString(),
            customerId,
            apiEndpoint: '/probe',
            metadata: { inputTokens: 1, outputTokens: 1 },
          });
          const response = await fetch(this.eventsUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...this.headers },
            body,
          });
          await response.text();
          if (response.status === 202) {
            const key = `${customerId}|${windowStart.toISOString()}`;
            const calls = (counts.get(key) ?? 0) + 1;
            counts.set(key, calls);
            this.sent.push({
              customerId,
              windowStart: windowStart.toISOString(),
              calls,
              answeredAt: Date.now(),
            });
          }
          await sleep(this.intervalMs * (0.8 + 0.4 * Math.random()));
        }
      }),
    ).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}

/**
 * Each probe's delay on each stream: from its 202 to the stream's first update of its
 * window whose count includes it. Updates carry totals, so that is the first update of
 * the window with at least the probe's count.
 */
export function delays(
  probes: Probe[],
  receipts: [string, number[]][],
  streams: number,
  recordedFrom: number,
): DelayFigures {
  const updates = new Map<string, { calls: number; times: number[] }[]>();
  for (const [key, times] of receipts) {
    const [customerId, windowStart, calls] = key.split('|');
    const window = `${customerId}|${windowStart}`;
    const list = updates.get(window) ?? [];
    list.push({ calls: Number(calls), times });
    updates.set(window, list);
  }
  for (const list of updates.values()) list.sort((a, b) => a.calls - b.calls);
  const samples: number[] = [];
  let missing = 0;
  let measured = 0;
  for (const probe of probes) {
    if (probe.answeredAt < recordedFrom) continue;
    measured++;
    const list = updates.get(`${probe.customerId}|${probe.windowStart}`) ?? [];
    const update = list.find((u) => u.calls >= probe.calls);
    const times = update?.times ?? [];
    for (const at of times) samples.push(Math.max(0, at - probe.answeredAt));
    missing += streams - times.length;
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    samples.length ? samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] : NaN;
  return {
    probes: measured,
    samples: samples.length,
    missing,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    maxMs: samples.length ? samples[samples.length - 1] : NaN,
  };
}
