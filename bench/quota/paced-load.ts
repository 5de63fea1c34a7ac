import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

export interface PacedSpec {
  url: string;
  headers: Record<string, string>;
  /** Requests per second, evenly spaced: request i is due at start + i / rate. */
  rate: number;
  seconds: number;
  /** Sockets kept open; a request due while all are busy waits, and that wait counts. */
  connections: number;
  body: () => string;
}

export interface PacedFigures {
  /** Answered per second of the phase, any status. */
  answeredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Non-2xx answers plus socket errors. */
  errors: number;
}

/**
 * An open-loop load at a constant arrival rate, like k6's constant-arrival-rate or wrk2.
 * autocannon's `overallRate` is not that: each connection sends flat out until it has
 * made its share for the current second, then idles until the next one, so the server
 * sees a closed-loop burst at the top of every second. Latency is taken from the moment
 * a request was due, not sent, so a stalled server cannot hide its stall by delaying the
 * load (coordinated omission).
 */
export async function pacedLoad(spec: PacedSpec): Promise<PacedFigures> {
  const { origin, pathname } = new URL(spec.url);
  const pool = new Pool(origin, { connections: spec.connections, pipelining: 1 });
  const headers = { 'content-type': 'application/json', ...spec.headers };
  const total = Math.round(spec.rate * spec.seconds);
  const latencies = new Float64Array(total);
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const send = async (i: number, due: number) => {
    try {
      const response = await pool.request({
        path: pathname,
        method: 'POST',
        headers,
        body: spec.body(),
      });
      await response.body.dump();
      if (response.statusCode >= 300) errors++;
    } catch {
      errors++;
    }
    latencies[i] = performance.now() - due;
  };
  const start = performance.now();
  let next = 0;
  while (next < total) {
    const now = performance.now();
    // Every request due by now goes out, so a late timer never lowers the rate.
    for (; next < total && start + (next * 1000) / spec.rate <= now; next++) {
      inFlight.push(send(next, start + (next * 1000) / spec.rate));
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort();
  const at = (q: number) => latencies[Math.min(total - 1, Math.ceil(q * total) - 1)];
  return {
    answeredPerSecond: total / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    errors,
  };
}
