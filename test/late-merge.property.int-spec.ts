import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { IngestionService } from '../src/ingestion/ingestion.service';
import type { MeteringEvent } from '../src/window-store/metering-event';
import { TenantsService } from '../src/tenants/tenants.service';
import { closerByHand, TestStack } from './support/harness';

const WINDOW_MS = 2000;

/**
 * Property: however batches (with repeats) and closer passes interleave after a
 * window has closed, the row in Postgres ends equal to the sum of the distinct
 * events, each counted late once. Exercises the ingest script's merge into a live
 * hash, the revision fence and the conditional release, on real Redis and Postgres.
 */
describe('merging late events into a flushed window (property)', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    // The closer runs only when the property calls it; no grace, long lateness.
    stack = await TestStack.create({
      CLOSER_INTERVAL_MS: '60000',
      WINDOW_GRACE_SECONDS: '0',
      MAX_LATENESS_SECONDS: '600',
    });
    app = await stack.start();
  });

  afterAll(() => stack.dispose());

  it('ends with the exact sum whatever the interleaving', async () => {
    const ingestion = app.get(IngestionService);
    const closer = closerByHand(app);
    const tenants = app.get(TenantsService);
    const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS - 10 * WINDOW_MS;

    const step = fc.record({
      picks: fc.array(fc.nat(19), { minLength: 1, maxLength: 8 }),
      close: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(5000), { minLength: 20, maxLength: 20 }),
        async (steps, tokens) => {
          const { tenant } = await tenants.create(`prop-${randomUUID()}`);
          const pool: MeteringEvent[] = tokens.map((t, i) => ({
            eventId: `e-${i}`,
            timestampMs: windowStart + i * 10,
            tenantId: tenant.id,
            customerId: 'c',
            endpoint: `/e${i % 3}`,
            tokens: t,
            inputTokens: t,
            outputTokens: 0,
            model: i % 2 ? 'm' : undefined,
            metadata: { tokens: t, inputTokens: t },
          }));
          const used = new Set<number>();
          for (const { picks, close } of steps) {
            await ingestion.ingest(
              picks.map((p) => pool[p]),
              Date.now(),
            );
            picks.forEach((p) => used.add(p));
            if (close) await closer.closeAll();
          }
          await closer.closeAll();
          const { rows } = await stack.pg.query(
            'SELECT total_calls, total_tokens, late_events, aggregation_data FROM aggregation_windows WHERE tenant_id = $1',
            [tenant.id],
          );
          const distinct = [...used].map((i) => pool[i]);
          expect(rows).toHaveLength(1);
          expect(Number(rows[0].total_calls)).toBe(distinct.length);
          expect(Number(rows[0].total_tokens)).toBe(distinct.reduce((s, e) => s + e.tokens, 0));
          expect(Number(rows[0].late_events)).toBe(distinct.length);
          const byEndpoint = rows[0].aggregation_data.byEndpoint as Record<
            string,
            { calls: number }
          >;
          expect(Object.values(byEndpoint).reduce((s, b) => s + b.calls, 0)).toBe(distinct.length);
        },
      ),
      { numRuns: 25 },
    );
  });
});
