/** An event after validation and normalisation, as the hot path handles it. */
export interface MeteringEvent {
  eventId: string;
  timestampMs: number;
  tenantId: string;
  customerId: string;
  endpoint: string;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  latencyMs?: number;
  model?: string;
  /** The producer's metadata with `tokens` filled in; stored as JSONB. */
  metadata: Record<string, unknown>;
  /** Set on an event replayed from the spool: when it first arrived, kept as its received time. */
  receivedAtMs?: number;
}

/** Per-event outcome of the ingest script. */
export enum IngestOutcome {
  Duplicate = 0,
  Counted = 1,
  /** Beyond max lateness: stored raw, the window is recomputed from Postgres. */
  BeyondLateness = 2,
  /** Counted in Redis, but after its window's end + grace: the window is flushed again. */
  CountedLate = 3,
}
