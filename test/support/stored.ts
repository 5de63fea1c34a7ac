import type { EventInput } from './api';
import { expectedWindows, round2 } from './expected';
import { eventually, type TestStack } from './harness';

/**
 * Waits until the tenant's raw events in Postgres are exactly these, each once (no
 * other event, no second copy).
 */
export async function expectStoredOnce(
  stack: TestStack,
  tenantId: string,
  events: EventInput[],
  timeoutMs = 20000,
): Promise<void> {
  const want = events.map((e) => e.eventId).sort();
  await eventually(async () => {
    const { rows } = await stack.pg.query<{ event_id: string }>(
      'SELECT event_id FROM usage_events WHERE tenant_id = $1 ORDER BY event_id',
      [tenantId],
    );
    expect(rows.map((r) => r.event_id)).toEqual(want);
  }, timeoutMs);
}

/**
 * Waits until the tenant's flushed windows are exactly those these events make: one row
 * per window holding events, every total equal to the events' own.
 */
export async function expectWindowsOf(
  stack: TestStack,
  tenantId: string,
  events: EventInput[],
  windowMs: number,
  timeoutMs = 20000,
): Promise<void> {
  const expected = expectedWindows(events, windowMs);
  await eventually(async () => {
    const { rows } = await stack.pg.query(
      'SELECT * FROM aggregation_windows WHERE tenant_id = $1 ORDER BY customer_id, window_start',
      [tenantId],
    );
    const got = new Map(
      rows.map((row) => [
        `${row.customer_id}@${(row.window_start as Date).toISOString()}`,
        {
          totalCalls: Number(row.total_calls),
          totalTokens: Number(row.total_tokens),
          totalInputTokens: Number(row.total_input_tokens),
          totalOutputTokens: Number(row.total_output_tokens),
          latencySum: Number(row.latency_sum_ms),
          avgLatencyMs: row.avg_latency_ms as number | null,
          aggregationData: row.aggregation_data as unknown,
        },
      ]),
    );
    const want = new Map(
      [...expected].map(([key, w]) => [
        key,
        {
          totalCalls: w.totalCalls,
          totalTokens: w.totalTokens,
          totalInputTokens: w.totalInputTokens,
          totalOutputTokens: w.totalOutputTokens,
          latencySum: w.latencySum,
          avgLatencyMs: w.latencyCount > 0 ? round2(w.latencySum / w.latencyCount) : null,
          aggregationData: { byEndpoint: w.byEndpoint, byModel: w.byModel },
        },
      ]),
    );
    expect(got).toEqual(want);
  }, timeoutMs);
}
