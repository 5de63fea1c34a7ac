// @ts-check
/**
 * What the page shows, kept as the running totals of each (customer, window): the
 * history's windows, then every usage.updated and window.closed from the stream. Both
 * carry totals, so the latest one for a window is its value (never a sum of updates).
 */

import { bucketOfWindow } from './api.js';

/** @typedef {import('./api.js').Bucket} Bucket */
/** @typedef {import('./api.js').WindowView} WindowView */
/** @typedef {{ customerId: string, calls: number, tokens: number }} CustomerTotals */
/** @typedef {{ windowStart: string, windowEnd: string, calls: number, tokens: number }} UsageWindow */
/**
 * The stream's envelope, for the two types the page draws.
 * @typedef {{ type: 'usage.updated', customerId: string, data: { windows: UsageWindow[] } }
 *   | { type: 'window.closed', customerId: string, data: WindowView }} Envelope
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export class LiveState {
  /** @type {Map<string, Bucket>} */
  #windows = new Map();

  /** Replaces everything with `buckets` (after sign-in, or a `reset` from the stream). */
  load(/** @type {Bucket[]} */ buckets) {
    this.#windows.clear();
    for (const b of buckets) this.#put(b);
  }

  /** Applies one stream event (other types, present or future, are not the page's). */
  apply(/** @type {Envelope} */ event) {
    if (event.type === 'window.closed') return this.#put(bucketOfWindow(event.data));
    if (event.type !== 'usage.updated') return;
    for (const w of event.data.windows) {
      this.#put({
        customerId: event.customerId,
        startMs: Date.parse(w.windowStart),
        endMs: Date.parse(w.windowEnd),
        calls: w.calls,
        tokens: w.tokens,
      });
    }
  }

  /** Each customer's calls and tokens in the minute around `nowMs`, busiest first. */
  currentMinute(/** @type {number} */ nowMs) {
    const minute = Math.floor(nowMs / MINUTE) * MINUTE;
    return this.#byCustomer((b) => b.startMs >= minute && b.startMs < minute + MINUTE);
  }

  /** The last hour per minute (windows by the minute they start in), oldest first. */
  perMinute(/** @type {number} */ nowMs) {
    const last = Math.floor(nowMs / MINUTE) * MINUTE;
    const first = last - 59 * MINUTE;
    const calls = new Array(60).fill(0);
    const tokens = new Array(60).fill(0);
    for (const b of this.#windows.values()) {
      const i = Math.floor((b.startMs - first) / MINUTE);
      if (i < 0 || i >= 60) continue;
      calls[i] += b.calls;
      tokens[i] += b.tokens;
    }
    const minutes = calls.map((_, i) => (first + i * MINUTE) / 1000);
    return { minutes, calls, tokens };
  }

  /** The `n` customers with the most calls in the last hour. */
  top(/** @type {number} */ nowMs, n = 5) {
    const since = Math.floor(nowMs / MINUTE) * MINUTE - 59 * MINUTE;
    return this.#byCustomer((b) => b.startMs >= since).slice(0, n);
  }

  /** Forgets windows older than the hour the page shows. */
  prune(/** @type {number} */ nowMs) {
    const since = Math.floor(nowMs / MINUTE) * MINUTE - HOUR;
    for (const [key, b] of this.#windows) if (b.startMs < since) this.#windows.delete(key);
  }

  /** @param {(b: Bucket) => boolean} keep @returns {CustomerTotals[]} */
  #byCustomer(keep) {
    /** @type {Map<string, CustomerTotals>} */
    const totals = new Map();
    for (const b of this.#windows.values()) {
      if (!keep(b)) continue;
      const t = totals.get(b.customerId) ?? { customerId: b.customerId, calls: 0, tokens: 0 };
      t.calls += b.calls;
      t.tokens += b.tokens;
      totals.set(b.customerId, t);
    }
    return [...totals.values()].sort(
      (a, b) => b.calls - a.calls || a.customerId.localeCompare(b.customerId),
    );
  }

  /** @param {Bucket} b */
  #put(b) {
    this.#windows.set(`${b.customerId}\u0000${b.startMs}`, b);
  }
}
