import { randomUUID } from 'node:crypto';
import type { EventInput } from './support/api';
import { expectedWindows, round2 } from './support/expected';
import { eventually, ADMIN_TOKEN, TestStack } from './support/harness';
import { buildService, freePort, ServiceProcess } from './support/processes';

const WINDOW_MS = 2000;
const DISTINCT = 50_000;
const BATCH = 100;
const IN_FLIGHT = 6;
/** Exact duplicates of earlier events added to each request (about 10%). */
const REPEATS = 10;
const CUSTOMERS = Array.from({ length: 20 }, (_, i) => `cust-${i}`);
const ENDPOINTS = ['/v1/chat', '/v1/embed', '/v1/images'];
const MODELS = ['gpt-4', 'small', 'vision'];

/** Stamped when its batch is built: "on time" now, or 3–6 s ago (a window already closed). */
function makeEvent(i: number, late: boolean): EventInput {
  const metadata: Record<string, unknown> = {
    inputTokens: (i * 17) % 700,
    outputTokens: (i * 29) % 1100,
    latencyMs: 20 + ((i * 7) % 500),
    ...(i % 7 === 0 ? {} : { model: MODELS[i % MODELS.length] }),
  };
  return {
    eventId: randomUUID(),
    timestamp: new Date(Date.now() - (late ? 3000 + ((i * 13) % 3000) : 0)).toISOString(),
    customerId: CUSTOMERS[i % CUSTOMERS.length],
    apiEndpoint: ENDPOINTS[(i >> 2) % ENDPOINTS.length],
    metadata,
  };
}

describe('exact totals across three processes, duplicates, late events and a SIGKILL', () => {
  let stack: TestStack;
  const instances: ServiceProcess[] = [];

  beforeAll(async () => {
    buildService();
    stack = await TestStack.create();
    for (let i = 0; i < 3; i++) {
      const instance = new ServiceProcess(await freePort(), {
        ...stack.env,
        INSTANCE_ID: `exact-${i}`,
        APP_PROFILE: 'test',
        LOCK_TTL_MS: '1000',
        PERSIST_CLAIM_IDLE_MS: '1000',
        DATABASE_POOL_SIZE: '5',
        // Repeats are earlier events resent with their own timestamps: on a slow machine
        // the run outlasts the harness's 30 s, and a repeat past max lateness is answered
        // as accepted (only Postgres can tell it is a duplicate), which `accepted` counts.
        MAX_LATENESS_SECONDS: '600',
      });
      await instance.start();
      instances.push(instance);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop('SIGKILL')));
    await stack.dispose();
  });

  it('stores every window and every event exactly once', async () => {
    const tenant: any = await (
      await fetch(`${instances[0].url}/v1/tenants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-admin-token': ADMIN_TOKEN },
        body: JSON.stringify({ name: 'exact' }),
      })
    ).json();
    const key = tenant.apiKey.key as string;
    const tenantId = tenant.tenant.id as string;

    const sent: EventInput[] = [];
    let lateCount = 0;
    const batches = DISTINCT / BATCH;
    let nextBatch = 0;
    let accepted = 0;
    const victim = instances[1];
    let victimDown = false;

    const post = async (body: EventInput[], attempt: number): Promise<void> => {
      const live = instances.filter((i) => !(victimDown && i === victim));
      const target = live[(attempt + body.length + nextBatch) % live.length];
      try {
        const reply = await fetch(`${target.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key },
          body: JSON.stringify(body),
        });
        if (reply.status !== 202) throw new Error(`status ${reply.status}`);
        accepted += ((await reply.json()) as { accepted: number }).accepted;
      } catch (error) {
        // A producer behind a load balancer retries a failed request elsewhere.
        if (attempt > 20) throw error;
        await new Promise((r) => setTimeout(r, 50));
        await post(body, attempt + 1);
      }
    };

    const worker = async () => {
      while (nextBatch < batches) {
        const b = nextBatch++;
        if (b === Math.floor(batches / 3)) {
          victimDown = true;
          await victim.stop('SIGKILL');
        }
        if (b === Math.floor((2 * batches) / 3) && victimDown) {
          await victim.start();
          victimDown = false;
        }
        const fresh = Array.from({ length: BATCH }, (_, k) => {
          const i = b * BATCH + k;
          const late = i % 20 === 7;
          if (late) lateCount++;
          return makeEvent(i, late);
        });
        sent.push(...fresh);
        // About 10% exact duplicates of events sent earlier, to whichever instance.
        const repeats =
          sent.length > 1000
            ? Array.from(
                { length: REPEATS },
                (_, k) => sent[(b * 7919 + k * 104729) % (sent.length - BATCH)],
              )
            : [];
        await post([...fresh, ...repeats], 0);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(sent).toHaveLength(DISTINCT);
    // Dedup never counts an event twice. A request the SIGKILL cut off after its events
    // counted but before it answered is retried elsewhere and answered as duplicates, so
    // the requests in flight at the victim may go unreported; the rows below are exact.
    expect(accepted).toBeLessThanOrEqual(DISTINCT);
    expect(accepted).toBeGreaterThanOrEqual(DISTINCT - IN_FLIGHT * (BATCH + REPEATS));

    const expected = expectedWindows(sent, WINDOW_MS);
    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM usage_events WHERE tenant_id = $1',
        [tenantId],
      );
      expect(rows[0]).toEqual({ n: DISTINCT, d: DISTINCT });
    }, 60_000);
    const rows = await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT * FROM aggregation_windows WHERE tenant_id = $1',
        [tenantId],
      );
      expect(rows).toHaveLength(expected.size);
      const calls = rows.reduce((sum, r) => sum + Number(r.total_calls), 0);
      expect(calls).toBe(DISTINCT);
      return rows;
    }, 60_000);
    let late = 0;
    for (const row of rows) {
      const want = expected.get(`${row.customer_id}@${row.window_start.toISOString()}`)!;
      expect({
        calls: Number(row.total_calls),
        tokens: Number(row.total_tokens),
        input: Number(row.total_input_tokens),
        output: Number(row.total_output_tokens),
        latency: Number(row.latency_sum_ms),
        avg: row.avg_latency_ms,
        data: row.aggregation_data,
      }).toEqual({
        calls: want.totalCalls,
        tokens: want.totalTokens,
        input: want.totalInputTokens,
        output: want.totalOutputTokens,
        latency: want.latencySum,
        avg: round2(want.latencySum / want.latencyCount),
        data: { byEndpoint: want.byEndpoint, byModel: want.byModel },
      });
      late += Number(row.late_events);
    }
    expect(late).toBeGreaterThanOrEqual(lateCount);
  }, 300_000);
});
