import type { Client } from 'pg';
import { flatten, type SentEvent } from './expected-usage';

/**
 * Writes the windows of past events straight into aggregation_windows, as the closer would
 * have flushed them (days the service could no longer ingest): the rollups must follow
 * through their trigger like for any other write.
 */
export async function plantWindows(
  pg: Client,
  tenantId: string,
  events: SentEvent[],
  windowMs: number,
): Promise<void> {
  const windows = new Map<string, ReturnType<typeof emptyWindow>>();
  for (const e of flatten(events, windowMs)) {
    const key = `${e.customerId}@${e.windowStartMs}`;
    const w = windows.get(key) ?? emptyWindow(e.customerId, e.windowStartMs);
    w.calls += 1;
    w.tokens += e.tokens;
    w.input += e.input;
    w.output += e.output;
    if (e.latency !== undefined) {
      w.latency += e.latency;
      w.latencyCount += 1;
    }
    if (e.late) w.late += 1;
    const endpoint = (w.data.byEndpoint[e.endpoint] ??= { calls: 0, tokens: 0 });
    endpoint.calls += 1;
    endpoint.tokens += e.tokens;
    if (e.model !== undefined) {
      const model = (w.data.byModel[e.model] ??= { calls: 0, tokens: 0 });
      model.calls += 1;
      model.tokens += e.tokens;
    }
    windows.set(key, w);
  }
  const rows = [...windows.values()];
  const column = <T>(pick: (w: (typeof rows)[number]) => T) => rows.map(pick);
  await pg.query(
    `INSERT INTO aggregation_windows (tenant_id, customer_id, window_start, window_end,
       total_calls, total_tokens, total_input_tokens, total_output_tokens, latency_sum_ms,
       latency_count, avg_latency_ms, aggregation_data, late_events, flushed_rev)
     SELECT $1, c, ws, ws + $2 * interval '1 millisecond', calls, tokens, tin, tout, lat, latn,
            CASE WHEN latn > 0 THEN round(lat::numeric / latn, 2)::float8 END, data, late, 1
     FROM unnest($3::text[], $4::timestamptz[], $5::bigint[], $6::bigint[], $7::bigint[],
                 $8::bigint[], $9::bigint[], $10::bigint[], $11::jsonb[], $12::bigint[])
       AS u (c, ws, calls, tokens, tin, tout, lat, latn, data, late)`,
    [
      tenantId,
      windowMs,
      column((w) => w.customerId),
      column((w) => new Date(w.windowStartMs).toISOString()),
      column((w) => w.calls),
      column((w) => w.tokens),
      column((w) => w.input),
      column((w) => w.output),
      column((w) => w.latency),
      column((w) => w.latencyCount),
      column((w) => JSON.stringify(w.data)),
      column((w) => w.late),
    ],
  );
}

function emptyWindow(customerId: string, windowStartMs: number) {
  return {
    customerId,
    windowStartMs,
    calls: 0,
    tokens: 0,
    input: 0,
    output: 0,
    latency: 0,
    latencyCount: 0,
    late: 0,
    data: {
      byEndpoint: {} as Record<string, { calls: number; tokens: number }>,
      byModel: {} as Record<string, { calls: number; tokens: number }>,
    },
  };
}
