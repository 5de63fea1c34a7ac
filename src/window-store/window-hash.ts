/** A window's calls and tokens by one endpoint or model. */
export interface Breakdown {
  calls: number;
  tokens: number;
}

/** A window's breakdowns, as its Redis hash and its Postgres row hold them. */
export interface AggregationData {
  byEndpoint: Record<string, Breakdown>;
  byModel: Record<string, Breakdown>;
}

/** A window's counters as the ingest script leaves them in its Redis hash. */
export interface WindowCounters {
  calls: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  latencySumMs: number;
  latencyCount: number;
  lateEvents: number;
  /** Incremented by every script call that changed the hash: the flush fencing token. */
  rev: number;
  data: AggregationData;
}

const BREAKDOWN_FIELD = /^(e|m)(c|t):(.*)$/s;

export function countersFromHash(hash: Record<string, string>): WindowCounters {
  const n = (field: string) => Number(hash[field] ?? 0);
  const data: AggregationData = { byEndpoint: {}, byModel: {} };
  for (const [field, value] of Object.entries(hash)) {
    const match = BREAKDOWN_FIELD.exec(field);
    if (!match) continue;
    const [, dimension, measure, name] = match;
    const target = dimension === 'e' ? data.byEndpoint : data.byModel;
    const entry: Breakdown = (target[name] ??= { calls: 0, tokens: 0 });
    entry[measure === 'c' ? 'calls' : 'tokens'] = Number(value);
  }
  return {
    calls: n('calls'),
    tokens: n('tokens'),
    inputTokens: n('in'),
    outputTokens: n('out'),
    latencySumMs: n('lat'),
    latencyCount: n('latn'),
    lateEvents: n('late'),
    rev: n('rev'),
    data,
  };
}
