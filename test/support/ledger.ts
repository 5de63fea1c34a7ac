import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { event, type EventInput } from './api';
import { expectedWindows } from './expected';

/** One answer as a producer sees it (Fastify inject and fetch both map onto it). */
export interface Answer {
  status: number;
  headers: Record<string, unknown>;
}

/** Posts one request of events; throws when no answer came (socket refused or reset). */
export type Send = (events: EventInput[]) => Promise<Answer>;

/**
 * What the producers were told. An event is acknowledged once a 202 answered a request
 * holding it: from then on it must be counted exactly once, whatever fails afterwards.
 */
export class Ledger {
  readonly acknowledged = new Map<string, EventInput>();
  readonly sent = new Map<string, EventInput>();
  requests = 0;
  /** 503 with Retry-After: the answer the fault model allows. */
  unavailable = 0;
  /** Any other 5xx, or a 503 without Retry-After: always a defect. */
  serverErrors = 0;
  /** Requests that got no answer at all (the instance was killed under them). */
  noAnswer = 0;
  readonly statuses = new Map<number, number>();

  record(events: EventInput[], answer: Answer): void {
    this.requests++;
    this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
    if (answer.status === 202) {
      for (const e of events) this.acknowledged.set(e.eventId!, e);
    } else if (answer.status === 503 && answer.headers['retry-after'] !== undefined) {
      this.unavailable++;
    } else if (answer.status >= 500) {
      this.serverErrors++;
    }
  }
}

export interface ProducerOptions {
  customers: string[];
  /** Concurrent producers, each with one request in flight. */
  concurrency?: number;
  batch?: number;
  /** Pause between requests of one producer (ms). */
  pauseMs?: number;
  /** How long a producer keeps retrying one request before giving up on it. */
  giveUpAfterMs?: number;
}

/**
 * Producers as the docs tell them to behave: fresh events in batches; a request answered
 * 503 (or not at all) is sent again, same events, after Retry-After (capped at 200 ms
 * here to keep tests short), until a 202 or giving up; anything else is final.
 */
export class Producers {
  readonly ledger = new Ledger();
  private running = false;
  private loops: Promise<void>[] = [];
  private next = 0;

  constructor(
    private readonly send: Send,
    private readonly options: ProducerOptions,
  ) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.options.concurrency ?? 4 }, () => this.loop());
  }

  /** Stops making new requests; waits for those under way (and their retries) to end. */
  async stop(): Promise<Ledger> {
    this.running = false;
    await Promise.all(this.loops);
    return this.ledger;
  }

  private async loop(): Promise<void> {
    const { customers, batch = 20, pauseMs = 20, giveUpAfterMs = 60_000 } = this.options;
    while (this.running) {
      const events = Array.from({ length: batch }, () => {
        const i = this.next++;
        return event({
          timestamp: new Date().toISOString(),
          customerId: customers[i % customers.length],
          apiEndpoint: ['/v1/chat', '/v1/embed'][i % 2],
          metadata: { inputTokens: i % 97, outputTokens: i % 89, latencyMs: 10 + (i % 50) },
        });
      });
      for (const e of events) this.ledger.sent.set(e.eventId!, e);
      const deadline = Date.now() + giveUpAfterMs;
      for (;;) {
        let answer: Answer | undefined;
        try {
          answer = await this.send(events);
          this.ledger.record(events, answer);
        } catch {
          this.ledger.noAnswer++;
        }
        if (answer && answer.status !== 503) break;
        if (Date.now() > deadline) break;
        const retryAfter = Number(answer?.headers['retry-after'] ?? 0) * 1000;
        await sleep(Math.min(Math.max(retryAfter, 50), 200));
      }
      await sleep(pauseMs);
    }
  }
}

export interface LedgerCheck {
  sent: number;
  acknowledged: number;
  /** Rows in usage_events. */
  stored: number;
  /** Sum of calls over aggregation_windows. */
  counted: number;
  /** Acknowledged but not stored. */
  lost: number;
  /** Calls counted beyond the stored events, summed over windows that count too many. */
  doubleCounted: number;
  /** Windows whose totals differ from their raw events (either way). */
  wrongWindows: number;
}

/** Compares the ledger with what Postgres holds for the tenant: raw events and windows. */
export async function checkLedger(
  pg: Client,
  tenantId: string,
  ledger: Ledger,
  windowMs: number,
): Promise<LedgerCheck> {
  const { rows: stored } = await pg.query<{
    event_id: string;
    ts: Date;
    customer_id: string;
    endpoint: string;
    metadata: Record<string, unknown>;
  }>(
    'SELECT event_id, ts, customer_id, endpoint, metadata FROM usage_events WHERE tenant_id = $1',
    [tenantId],
  );
  const storedIds = new Set(stored.map((r) => r.event_id));
  const expected = expectedWindows(
    stored.map((r) => ({
      eventId: r.event_id,
      timestamp: r.ts.toISOString(),
      customerId: r.customer_id,
      apiEndpoint: r.endpoint,
      metadata: r.metadata,
    })),
    windowMs,
  );
  const { rows: windows } = await pg.query<{
    customer_id: string;
    window_start: Date;
    total_calls: string;
    total_tokens: string;
  }>(
    'SELECT customer_id, window_start, total_calls, total_tokens FROM aggregation_windows WHERE tenant_id = $1',
    [tenantId],
  );
  let counted = 0;
  let doubleCounted = 0;
  let wrongWindows = 0;
  const seen = new Set<string>();
  for (const w of windows) {
    const key = `${w.customer_id}@${w.window_start.toISOString()}`;
    seen.add(key);
    const calls = Number(w.total_calls);
    const want = expected.get(key);
    counted += calls;
    doubleCounted += Math.max(0, calls - (want?.totalCalls ?? 0));
    // A window recomputed after its only events were lost with Redis holds zero: equal.
    if (calls !== (want?.totalCalls ?? 0) || Number(w.total_tokens) !== (want?.totalTokens ?? 0))
      wrongWindows++;
  }
  for (const key of expected.keys()) if (!seen.has(key)) wrongWindows++;
  return {
    sent: ledger.sent.size,
    acknowledged: ledger.acknowledged.size,
    stored: stored.length,
    counted,
    lost: [...ledger.acknowledged.keys()].filter((id) => !storedIds.has(id)).length,
    doubleCounted,
    wrongWindows,
  };
}

/** One row of docs/reliability.md's fault table (rendered by scripts/fault-table.mjs). */
export interface FaultRow extends LedgerCheck {
  fault: string;
  requests: number;
  serverErrors: number;
  unavailable: number;
  noAnswer: number;
  /** From the end of the fault until windows equalled raw events equalled the ledger. */
  recoveryMs: number;
  /** Events acknowledged into an instance's spool (202 with `spooled`) while Redis was down. */
  spooled?: number;
}

/** Writes the row where scripts/fault-table.mjs reads it (FAULT_REPORT_DIR, default .faults/). */
export function reportFault(row: FaultRow): void {
  const dir = process.env.FAULT_REPORT_DIR ?? '.faults';
  mkdirSync(dir, { recursive: true });
  const name = row.fault.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(row, null, 2)}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
