/**
 * The stream's envelope. Every event, whatever its type, is
 * `{id, type, time, customerId, data}`: clients route on `type`, filter on `customerId`
 * (null for tenant-wide events) and resume on `id`. A new type (alerts'
 * `alert.triggered`) is a new `type` value with its own `data`; a type's `data` only ever
 * gains fields, and a change that would break readers is a new type. docs/live.md.
 */
export type LiveEventType = 'usage.updated' | 'window.closed';

/** What a producer hands to LiveEvents.publish; the id is given by the history. */
export interface LiveEventInput {
  type: LiveEventType;
  customerId: string | null;
  data: unknown;
}

/** An event as it is kept in the history and sent: its id is its history entry's id. */
export interface LiveEvent extends LiveEventInput {
  id: string;
  /** When the producer made it (ISO 8601). */
  time: string;
}

/** Sent to one stream only, never kept: the client must re-read state; or its stream ends. */
export type ControlEventType = 'reset' | 'dropped';

/** `usage.updated` data: the customer's windows that changed, each with its running totals. */
export interface UsageUpdate {
  windows: UsageWindow[];
}

export interface UsageWindow {
  windowStart: string;
  windowEnd: string;
  calls: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  avgLatencyMs: number | null;
  lateEvents: number;
}
