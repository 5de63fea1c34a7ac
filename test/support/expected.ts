import type { EventInput } from './api';

/** The totals a window must hold, computed from the events the test generated. */
export interface ExpectedWindow {
  totalCalls: number;
  totalTokens: number;
  totalInputTokens: number;
  totalOutputTokens: number;
  latencySum: number;
  latencyCount: number;
  byEndpoint: Record<string, { calls: number; tokens: number }>;
  byModel: Record<string, { calls: number; tokens: number }>;
}

export function expectedWindows(
  events: EventInput[],
  windowMs: number,
): Map<string, ExpectedWindow> {
  const windows = new Map<string, ExpectedWindow>();
  for (const e of events) {
    const start = Math.floor(Date.parse(e.timestamp) / windowMs) * windowMs;
    const key = `${e.customerId}@${new Date(start).toISOString()}`;
    const w = windows.get(key) ?? {
      totalCalls: 0,
      totalTokens: 0,
      totalInputTokens: 0,
      totalOutputTokens: 0,
      latencySum: 0,
      latencyCount: 0,
      byEndpoint: {},
      byModel: {},
    };
    const m = (e.metadata ?? {}) as Record<string, number | string | undefined>;
    const input = Number(m.inputTokens ?? 0);
    const output = Number(m.outputTokens ?? 0);
    const tokens = Number(m.tokens ?? input + output);
    w.totalCalls += 1;
    w.totalTokens += tokens;
    w.totalInputTokens += input;
    w.totalOutputTokens += output;
    if (m.latencyMs !== undefined) {
      w.latencySum += Number(m.latencyMs);
      w.latencyCount += 1;
    }
    const endpoint = (w.byEndpoint[e.apiEndpoint] ??= { calls: 0, tokens: 0 });
    endpoint.calls += 1;
    endpoint.tokens += tokens;
    if (typeof m.model === 'string') {
      const model = (w.byModel[m.model] ??= { calls: 0, tokens: 0 });
      model.calls += 1;
      model.tokens += tokens;
    }
    windows.set(key, w);
  }
  return windows;
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
