import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { issueKey } from '../../src/api-keys/api-key-codec';
import { createTenant, ensureCustomer, event, ingest, request, type Reply } from '../support/api';
import { eventually, TestStack } from '../support/harness';
import { type Answer, checkLedger, Producers, reportFault } from '../support/ledger';
import { ThrowawayPostgres } from '../support/throwaway';

const WINDOW_MS = 2000;
const OUTAGE_MS = 30_000;
const QUOTA_LIMIT = 40;

type Phase = 'before' | 'outage' | 'after';

/** Every answer of one kind of request, by phase, and the 5xx the fault model forbids. */
class Answers {
  readonly byPhase = new Map<Phase, Map<number, number>>();
  /** Any 5xx other than 503 with Retry-After. */
  readonly forbidden: { status: number; retryAfter: unknown }[] = [];

  record(phase: Phase, answer: Answer): void {
    const counts = this.byPhase.get(phase) ?? new Map<number, number>();
    counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
    this.byPhase.set(phase, counts);
    const retryAfter = answer.headers['retry-after'];
    if (answer.status >= 500 && (answer.status !== 503 || retryAfter === undefined)) {
      this.forbidden.push({ status: answer.status, retryAfter });
    }
  }

  count(phase: Phase, status: number): number {
    return this.byPhase.get(phase)?.get(status) ?? 0;
  }

  statuses(phase: Phase): number[] {
    return [...(this.byPhase.get(phase)?.keys() ?? [])].sort();
  }
}

describe('fault: Postgres stopped (-m immediate) for 30 s, then started', () => {
  let pg: ThrowawayPostgres;
  let stack: TestStack;

  beforeAll(async () => {
    pg = await ThrowawayPostgres.start();
    stack = await TestStack.create({ SHARDS: '4' }, { databaseServer: pg.url });
  });

  afterAll(async () => {
    await pg.startServer().catch(() => undefined);
    await stack.dispose();
    await pg.dispose();
  });

  it('keeps ingesting and enforcing exact quotas from cached state; what needs Postgres is 503 with Retry-After; nothing lost or double-counted', async () => {
    const apps: NestFastifyApplication[] = [await stack.start(), await stack.start()];
    const { tenantId, key } = await createTenant(apps[0]);
    const as = { headers: { 'x-api-key': key } };
    await ensureCustomer(apps[0], key, 'q');
    const put = await request(apps[0], 'PUT', '/v1/customers/q/quotas/calls', {
      ...as,
      body: { limit: QUOTA_LIMIT, period: '1h', algorithm: 'fixed' },
    });
    expect(put.status).toBe(200);

    let phase: Phase = 'before';
    let turn = 0;
    const next = () => apps[turn++ % apps.length];

    // Producers, as the docs tell them to behave; every answer is also filed by phase.
    const ingestAnswers = new Answers();
    const producers = new Producers(
      async (events) => {
        const at = phase;
        const reply = await ingest(next(), key, events);
        ingestAnswers.record(at, reply);
        return reply;
      },
      { customers: ['a', 'b', 'c', 'd', 'e'], concurrency: 3, pauseMs: 30 },
    );

    // A gateway asking before each call for customer q: one check at a time, so the
    // decisions must follow the limit exactly, whichever instance answers. It alternates
    // between the instances, so each has read the definitions before the outage: an
    // instance that never has falls to QUOTA_FAILURE_POLICY (postgres-unavailable.int-spec.ts).
    const quotaAnswers = new Answers();
    const decisions: { phase: Phase; status: number; remaining?: number }[] = [];
    let checking = true;
    const gateway = (async () => {
      for (let check = 0; checking; check++) {
        const at = phase;
        const reply = await request(apps[check % apps.length], 'POST', '/v1/quotas/consume', {
          ...as,
          body: { customerId: 'q', metric: 'calls', units: 1 },
        });
        quotaAnswers.record(at, reply);
        decisions.push({ phase: at, status: reply.status, remaining: reply.body?.remaining });
        await sleep(400);
      }
    })();

    // What needs Postgres itself: reads, and a key no instance has seen.
    const probeAnswers = new Answers();
    const probes: { phase: Phase; windows: Reply; unknownKey: Reply }[] = [];
    const probeAll = async () => {
      const at = phase;
      const [windows, unknownKey] = await Promise.all([
        request(next(), 'GET', '/v1/windows?limit=5', as),
        ingest(
          next(),
          issueKey().key,
          event({ timestamp: new Date().toISOString(), customerId: 'a', apiEndpoint: '/' }),
        ),
      ]);
      probeAnswers.record(at, windows);
      probeAnswers.record(at, unknownKey);
      probes.push({ phase: at, windows, unknownKey });
      return { windows: windows.status, unknownKey: unknownKey.status };
    };

    producers.start();
    await sleep(2000);
    await probeAll();

    await pg.stop('immediate');
    phase = 'outage';
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      await probeAll();
      await sleep(3000);
    }
    await pg.startServer();
    const restartedAt = Date.now();
    phase = 'after';
    await sleep(3000);
    const ledger = await producers.stop();
    checking = false;
    await gateway;

    const fresh = new Client({ connectionString: stack.env.DATABASE_URL });
    fresh.on('error', () => undefined);
    await fresh.connect();
    let check;
    try {
      check = await eventually(async () => {
        const result = await checkLedger(fresh, tenantId, ledger, WINDOW_MS);
        expect(result).toMatchObject({ lost: 0, doubleCounted: 0, wrongWindows: 0 });
        expect(result.counted).toBe(result.stored);
        expect(result.stored).toBe(result.acknowledged);
        return result;
      }, 60_000);
    } finally {
      await fresh.end();
    }
    const recoveryMs = Date.now() - restartedAt;
    // Back: reads answer, and an unknown key is unknown again rather than unavailable.
    await eventually(async () =>
      expect(await probeAll()).toEqual({ windows: 200, unknownKey: 401 }),
    );

    reportFault({
      fault: 'Postgres stopped (-m immediate) for 30 s',
      ...check,
      requests: ledger.requests,
      serverErrors: ledger.serverErrors,
      unavailable: ledger.unavailable,
      noAnswer: ledger.noAnswer,
      recoveryMs,
    });
    const summary = {
      ingest: Object.fromEntries(
        (['before', 'outage', 'after'] as Phase[]).map((p) => [
          p,
          Object.fromEntries(ingestAnswers.statuses(p).map((s) => [s, ingestAnswers.count(p, s)])),
        ]),
      ),
      quota: Object.fromEntries(
        (['before', 'outage', 'after'] as Phase[]).map((p) => [
          p,
          Object.fromEntries(quotaAnswers.statuses(p).map((s) => [s, quotaAnswers.count(p, s)])),
        ]),
      ),
      check,
      recoveryMs,
    };
    process.stdout.write(`postgres outage: ${JSON.stringify(summary)}\n`);

    // No 5xx other than 503 with Retry-After, anywhere.
    expect(ledger.serverErrors).toBe(0);
    expect([
      ...ingestAnswers.forbidden,
      ...quotaAnswers.forbidden,
      ...probeAnswers.forbidden,
    ]).toEqual([]);
    expect(ledger.noAnswer).toBe(0);

    // Ingestion went on through the outage: every answer then was a 202.
    expect(ingestAnswers.count('outage', 202)).toBeGreaterThan(100);
    expect(ingestAnswers.statuses('outage')).toEqual([202]);

    // Quota checks went on with the exact limit: QUOTA_LIMIT allowed in all, remaining
    // counting down one by one, then 429s, and the limit was reached during the outage.
    expect(quotaAnswers.statuses('outage')).toEqual(expect.arrayContaining([200, 429]));
    expect(quotaAnswers.statuses('outage').every((s) => s === 200 || s === 429)).toBe(true);
    const allowed = decisions.filter((d) => d.status === 200);
    expect(allowed.map((d) => d.remaining)).toEqual(
      Array.from({ length: QUOTA_LIMIT }, (_, i) => QUOTA_LIMIT - 1 - i),
    );
    const firstRefusal = decisions.findIndex((d) => d.status === 429);
    expect(decisions.slice(firstRefusal).every((d) => d.status === 429)).toBe(true);
    expect(decisions[firstRefusal].phase).toBe('outage');

    // Reads and a never-seen key need Postgres: 503 with Retry-After during the outage.
    const duringOutage = probes.filter((p) => p.phase === 'outage');
    expect(duringOutage.length).toBeGreaterThanOrEqual(5);
    for (const reply of duringOutage.flatMap((p) => [p.windows, p.unknownKey])) {
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('5');
    }
    const before = probes.filter((p) => p.phase === 'before');
    expect(before.map((p) => [p.windows.status, p.unknownKey.status])).toEqual([[200, 401]]);
    expect(check.acknowledged).toBeGreaterThan(0);
  }, 180_000);
});
