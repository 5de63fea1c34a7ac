import { countersFromHash } from './window-hash';
import { toWindowView } from '../windows/window-view';

describe('window hash to window JSON', () => {
  it('reads totals and breakdowns, endpoint and model names with colons included', () => {
    const counters = countersFromHash({
      calls: '3',
      tokens: '30',
      in: '10',
      out: '20',
      lat: '300',
      latn: '2',
      late: '1',
      rev: '4',
      'ec:/api/v1:x': '2',
      'et:/api/v1:x': '20',
      'ec:/b': '1',
      'et:/b': '10',
      'mc:gpt-4': '3',
      'mt:gpt-4': '30',
    });
    expect(counters).toEqual({
      calls: 3,
      tokens: 30,
      inputTokens: 10,
      outputTokens: 20,
      latencySumMs: 300,
      latencyCount: 2,
      lateEvents: 1,
      rev: 4,
      data: {
        byEndpoint: { '/api/v1:x': { calls: 2, tokens: 20 }, '/b': { calls: 1, tokens: 10 } },
        byModel: { 'gpt-4': { calls: 3, tokens: 30 } },
      },
    });
  });

  it('treats missing fields as zero', () => {
    expect(countersFromHash({ calls: '1' })).toMatchObject({ tokens: 0, latencyCount: 0, rev: 0 });
  });

  it('shapes a stored row as the API window', () => {
    const view = toWindowView({
      tenant_id: 't',
      customer_id: 'c-42',
      window_start: new Date('2026-11-21T10:00:00Z'),
      window_end: new Date('2026-11-21T10:00:30Z'),
      total_calls: '1543',
      total_tokens: '234567',
      total_input_tokens: '78901',
      total_output_tokens: '155666',
      avg_latency_ms: 245,
      aggregation_data: { byEndpoint: { '/a': { calls: 1, tokens: 2 } }, byModel: {} },
      late_events: '0',
      version: 1,
    });
    expect(view).toEqual({
      windowStart: '2026-11-21T10:00:00.000Z',
      windowEnd: '2026-11-21T10:00:30.000Z',
      tenantId: 't',
      customerId: 'c-42',
      version: 1,
      aggregations: {
        totalCalls: 1543,
        totalTokens: 234567,
        totalInputTokens: 78901,
        totalOutputTokens: 155666,
        avgLatencyMs: 245,
        lateEvents: 0,
        byEndpoint: { '/a': { calls: 1, tokens: 2 } },
        byModel: {},
      },
    });
  });
});
