import type { AggregationData } from '../window-store';

/** A window as the API returns it (DESIGN.md §4). */
export interface WindowView {
  windowStart: string;
  windowEnd: string;
  tenantId: string;
  customerId: string;
  version: number;
  aggregations: {
    totalCalls: number;
    totalTokens: number;
    totalInputTokens: number;
    totalOutputTokens: number;
    avgLatencyMs: number | null;
    lateEvents: number;
  } & AggregationData;
}

/** A row of aggregation_windows as node-postgres returns it (bigints arrive as strings). */
export interface WindowRow {
  tenant_id: string;
  customer_id: string;
  window_start: Date;
  window_end: Date;
  total_calls: string;
  total_tokens: string;
  total_input_tokens: string;
  total_output_tokens: string;
  avg_latency_ms: number | null;
  aggregation_data: AggregationData;
  late_events: string;
  version: number;
}

export function toWindowView(row: WindowRow): WindowView {
  return {
    windowStart: row.window_start.toISOString(),
    windowEnd: row.window_end.toISOString(),
    tenantId: row.tenant_id,
    customerId: row.customer_id,
    version: row.version,
    aggregations: {
      totalCalls: Number(row.total_calls),
      totalTokens: Number(row.total_tokens),
      totalInputTokens: Number(row.total_input_tokens),
      totalOutputTokens: Number(row.total_output_tokens),
      avgLatencyMs: row.avg_latency_ms,
      lateEvents: Number(row.late_events),
      byEndpoint: row.aggregation_data.byEndpoint,
      byModel: row.aggregation_data.byModel,
    },
  };
}
