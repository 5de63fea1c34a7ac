import type { EventInput } from './api';

/**
 * The analytics oracle: every answer computed from the events a test sent (or planted as
 * windows), independently of the service: buckets are told apart by the local calendar
 * label Intl gives a window's start in the zone (offset included, so the repeated hour of
 * a DST change is two buckets), never by the service's boundary arithmetic.
 */
export interface SentEvent extends EventInput {
  /** Counted as late by the service (arrived after its window's end + grace). */
  late?: boolean;
}

export type Granularity = 'minute' | 'hour' | 'day' | 'month';
export type Dimension = 'customer' | 'endpoint' | 'model';

export interface Sums {
  calls: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  latencySum: number;
  latencyCount: number;
  lateEvents: number;
}

interface Flat {
  windowStartMs: number;
  customerId: string;
  endpoint: string;
  model: string | undefined;
  tokens: number;
  input: number;
  output: number;
  latency: number | undefined;
  late: boolean;
}

export function flatten(events: SentEvent[], windowMs: number): Flat[] {
  return events.map((e) => {
    const m = (e.metadata ?? {}) as Record<string, number | string | undefined>;
    const input = Number(m.inputTokens ?? 0);
    const output = Number(m.outputTokens ?? 0);
    return {
      windowStartMs: Math.floor(Date.parse(e.timestamp) / windowMs) * windowMs,
      customerId: e.customerId,
      endpoint: e.apiEndpoint,
      model: typeof m.model === 'string' ? m.model : undefined,
      tokens: Number(m.tokens ?? input + output),
      input,
      output,
      latency: m.latencyMs === undefined ? undefined : Number(m.latencyMs),
      late: e.late === true,
    };
  });
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The bucket label of an instant: local calendar fields down to the granularity, and the offset. */
export function label(ms: number, granularity: Granularity, timeZone: string): string {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formats.set(timeZone, format);
  }
  const p = Object.fromEntries(format.formatToParts(ms).map((part) => [part.type, part.value]));
  switch (granularity) {
    case 'month':
      return `${p.year}-${p.month}`;
    case 'day':
      return `${p.year}-${p.month}-${p.day}`;
    case 'hour':
      return `${p.year}-${p.month}-${p.day}T${p.hour} ${p.timeZoneName}`;
    case 'minute':
      return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute} ${p.timeZoneName}`;
  }
}

export interface UsageAsk {
  fromMs: number;
  toMs: number;
  granularity: Granularity;
  timezone: string;
  groupBy: Dimension[];
  customerIds?: string[];
  endpoints?: string[];
  models?: string[];
}

/** label → group key (`customer|endpoint|model`, empty parts when not grouped) → sums. */
export function expectedUsage(events: Flat[], ask: UsageAsk): Map<string, Sums> {
  const breakdown: 'endpoint' | 'model' | null =
    ask.groupBy.includes('endpoint') || ask.endpoints
      ? 'endpoint'
      : ask.groupBy.includes('model') || ask.models
        ? 'model'
        : null;
  const out = new Map<string, Sums>();
  for (const e of events) {
    if (e.windowStartMs < ask.fromMs || e.windowStartMs >= ask.toMs) continue;
    if (ask.customerIds && !ask.customerIds.includes(e.customerId)) continue;
    if (ask.endpoints && !ask.endpoints.includes(e.endpoint)) continue;
    if (breakdown === 'model' && e.model === undefined) continue;
    if (ask.models && !ask.models.includes(e.model!)) continue;
    const key = [
      label(e.windowStartMs, ask.granularity, ask.timezone),
      ask.groupBy.includes('customer') ? e.customerId : '',
      ask.groupBy.includes('endpoint') ? e.endpoint : '',
      ask.groupBy.includes('model') ? e.model : '',
    ].join('|');
    const s = out.get(key) ?? zero();
    s.calls += 1;
    s.tokens += e.tokens;
    if (breakdown === null) {
      s.inputTokens += e.input;
      s.outputTokens += e.output;
      if (e.latency !== undefined) {
        s.latencySum += e.latency;
        s.latencyCount += 1;
      }
      if (e.late) s.lateEvents += 1;
    }
    out.set(key, s);
  }
  return out;
}

/** What the service reports for a group: measures by endpoint or model are calls and tokens only. */
export interface Reported {
  calls: number;
  tokens: number;
  inputTokens: number | null;
  outputTokens: number | null;
  avgLatencyMs: number | null;
  lateEvents: number | null;
}

/** The oracle's sums as the service must report them. */
export function reported(expected: Map<string, Sums>, ask: UsageAsk): Map<string, Reported> {
  const totals = !(
    ask.groupBy.includes('endpoint') ||
    ask.groupBy.includes('model') ||
    ask.endpoints ||
    ask.models
  );
  return new Map(
    [...expected].map(([key, s]) => [
      key,
      {
        calls: s.calls,
        tokens: s.tokens,
        inputTokens: totals ? s.inputTokens : null,
        outputTokens: totals ? s.outputTokens : null,
        avgLatencyMs:
          totals && s.latencyCount > 0
            ? Math.round((s.latencySum * 100) / s.latencyCount) / 100
            : null,
        lateEvents: totals ? s.lateEvents : null,
      },
    ]),
  );
}

/** The service's rows in the oracle's terms (rows with zero calls dropped). */
export function actualUsage(
  rows: any[],
  ask: Pick<UsageAsk, 'granularity' | 'timezone' | 'groupBy'>,
): Map<string, Reported> {
  const out = new Map<string, Reported>();
  for (const row of rows) {
    if (row.calls === 0) continue;
    const key = [
      label(Date.parse(row.bucketStart), ask.granularity, ask.timezone),
      row.customerId ?? '',
      row.endpoint ?? '',
      row.model ?? '',
    ].join('|');
    if (out.has(key)) throw new Error(`two rows for ${key}`);
    const { calls, tokens, inputTokens, outputTokens, avgLatencyMs, lateEvents } = row;
    out.set(key, { calls, tokens, inputTokens, outputTokens, avgLatencyMs, lateEvents });
  }
  return out;
}

function zero(): Sums {
  return {
    calls: 0,
    tokens: 0,
    inputTokens: 0,
    outputTokens: 0,
    latencySum: 0,
    latencyCount: 0,
    lateEvents: 0,
  };
}
