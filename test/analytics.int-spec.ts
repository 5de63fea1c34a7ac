import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DateTime } from 'luxon';
import type { WindowCloser } from '../src/windows/window-closer';
import { createTenant, event, ingest, request } from './support/api';
import {
  actualUsage,
  type Dimension,
  expectedUsage,
  flatten,
  type Granularity,
  reported,
  type SentEvent,
  type UsageAsk,
} from './support/expected-usage';
import { closerByHand, eventually, TestStack } from './support/harness';
import { plantWindows } from './support/planted-windows';

const WINDOW_MS = 2000;
const CUSTOMERS = ['c-1', 'c-2', 'c-3'];
const ENDPOINTS = ['/api/chat', '/api/completion', '/api/embed'];
const MODELS = ['gpt-4', 'mini', undefined];

/** A deterministic event at `ms`: the i-th of a spread over customers, endpoints and models. */
function sample(i: number, ms: number, late = false): SentEvent {
  const model = MODELS[i % 3];
  return {
    ...event({
      timestamp: new Date(ms).toISOString(),
      customerId: CUSTOMERS[i % CUSTOMERS.length],
      apiEndpoint: ENDPOINTS[(i >> 1) % ENDPOINTS.length],
      metadata: {
        inputTokens: (i * 7) % 500,
        outputTokens: (i * 13) % 900,
        ...(i % 4 === 0 ? {} : { latencyMs: 50 + ((i * 31) % 400) }),
        ...(model ? { model } : {}),
        ...(i % 5 === 0 ? { tokens: 1000 + i } : {}),
      },
    }),
    late,
  };
}

/** What the producer sends: the oracle's `late` mark stays with the test. */
const wire = (events: SentEvent[]) => events.map((e) => ({ ...e, late: undefined }));

const sorted = <V>(map: Map<string, V>) =>
  Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * Every analytics answer against the oracle, computed from the events the test sent and
 * the windows it planted: several customers, endpoints, models and days, the day Berlin
 * leaves summer time, a half-hour zone, windows open in Redis, flushed, re-opened by late
 * events and flushed again (version 2). The closer runs only when the test says so.
 */
describe('analytics answers (oracle)', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let key: string;
  let closer: WindowCloser;
  const sent: SentEvent[] = [];
  let current = 0;

  const get = (url: string) => request(app, 'GET', url, { headers: { 'x-api-key': key } });
  const flat = () => flatten(sent, WINDOW_MS);

  beforeAll(async () => {
    stack = await TestStack.create({
      CLOSER_INTERVAL_MS: '60000',
      ANALYTICS_PREWARM_DELAY_MS: '0',
    });
    app = await stack.start();
    closer = closerByHand(app);
    let tenantId: string;
    ({ tenantId, key } = await createTenant(app, 'analyst'));
    // Another tenant's usage in the same hours must never show.
    const other = await createTenant(app, 'other');
    const now = Date.now();
    const planted: SentEvent[] = [];
    // Around the end of summer time in Berlin (2026-10-25 03:00 CEST → 02:00 CET) and the
    // day before, every 7 minutes and a bit, plus the last 7 days for /daily.
    const dstStart = Date.parse('2026-10-23T20:00:00Z');
    for (let i = 0; i < 700; i++) planted.push(sample(i, dstStart + i * 437_000));
    for (let i = 0; i < 120; i++) planted.push(sample(i, now - 6 * 86_400_000 + i * 4_321_000));
    // Both sides of today's Berlin midnight, and a late-counted one.
    const midnight = DateTime.fromMillis(now, { zone: 'Europe/Berlin' }).startOf('day').toMillis();
    planted.push(
      sample(1, midnight - 2000),
      sample(2, midnight),
      sample(3, midnight - 60_000, true),
    );
    // Only windows already past their lateness: the present comes through ingestion.
    const past = planted.filter((e) => Date.parse(e.timestamp) < now - 120_000);
    await plantWindows(stack.pg, tenantId, past, WINDOW_MS);
    await plantWindows(stack.pg, other.tenantId, past.slice(0, 50), WINDOW_MS);
    sent.push(...past);
  });

  afterAll(() => stack.dispose());

  const asks = (): (UsageAsk & { url: string })[] => {
    const now = Date.now();
    const make = (
      granularity: Granularity,
      timezone: string,
      from: string | number,
      to: string | number,
      groupBy: Dimension[],
      filters: Pick<UsageAsk, 'customerIds' | 'endpoints' | 'models'> = {},
    ) => {
      const fromMs = typeof from === 'number' ? from : Date.parse(from);
      const toMs = typeof to === 'number' ? to : Date.parse(to);
      const params = new URLSearchParams({
        granularity,
        timezone,
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
      });
      groupBy.forEach((g) => params.append('groupBy', g));
      filters.customerIds?.forEach((c) => params.append('customerId', c));
      filters.endpoints?.forEach((e) => params.append('endpoint', e));
      filters.models?.forEach((m) => params.append('model', m));
      return {
        granularity,
        timezone,
        fromMs,
        toMs,
        groupBy,
        ...filters,
        url: `/v1/usage?${params.toString()}`,
      };
    };
    return [
      make('day', 'Europe/Berlin', '2026-10-20T00:00:00Z', now + 3_600_000, ['customer']),
      make('hour', 'Europe/Berlin', '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z', []),
      make('hour', 'Asia/Kolkata', '2026-10-24T00:00:00Z', '2026-10-25T06:00:00Z', ['customer']),
      make('day', 'UTC', '2026-10-20T00:00:00Z', now + 3_600_000, ['endpoint'], {
        customerIds: ['c-1', 'c-2'],
      }),
      make('month', 'America/New_York', '2026-09-01T00:00:00Z', now + 3_600_000, ['model']),
      make('minute', 'UTC', current - 600_000, current + 120_000, ['customer', 'endpoint']),
      make('hour', 'UTC', now - 2 * 86_400_000, now + 3_600_000, ['customer'], {
        endpoints: ['/api/chat'],
      }),
      make('day', 'Australia/Lord_Howe', '2026-10-01T00:00:00Z', now + 3_600_000, [], {
        models: ['gpt-4'],
      }),
    ];
  };

  /** Every endpoint's answer against the oracle; `open`: windows expected from Redis. */
  async function checkAll(open: 'some' | 'none'): Promise<void> {
    for (const ask of asks()) {
      const reply = await get(ask.url);
      expect({ url: ask.url, status: reply.status }).toEqual({ url: ask.url, status: 200 });
      const answer = reply.body;
      const range = { fromMs: Date.parse(answer.from), toMs: Date.parse(answer.to) };
      expect(range.fromMs).toBeLessThanOrEqual(ask.fromMs);
      expect(range.toMs).toBeGreaterThanOrEqual(ask.toMs);
      const expected = reported(expectedUsage(flat(), { ...ask, ...range }), ask);
      expect({ url: ask.url, rows: sorted(actualUsage(answer.data, ask)) }).toEqual({
        url: ask.url,
        rows: sorted(expected),
      });
      expect(answer.includesOpenWindows).toBe(true);
      if (ask.groupBy.length === 0) {
        expect(new Set(answer.data.map((r: any) => r.bucketStart)).size).toBe(answer.data.length);
      }
    }
    // `to` given: the current window may start in the next minute (up to 1.2 s ahead), past
    // the default `to` (now) while the minute has not turned.
    const range = `from=${new Date(current - 60_000).toISOString()}&to=${new Date(current + 60_000).toISOString()}`;
    const live = (await get(`/v1/usage?granularity=minute&${range}`)).body;
    if (open === 'some') expect(live.openWindows).toBeGreaterThan(0);
    else expect(live.openWindows).toBe(0);
    await checkDaily();
    await checkTop();
  }

  async function checkDaily(): Promise<void> {
    const answer = (await get('/v1/usage/daily?timezone=Europe/Berlin')).body;
    const ask: UsageAsk = {
      fromMs: Date.parse(answer.from),
      toMs: Date.parse(answer.to),
      granularity: 'day',
      timezone: 'Europe/Berlin',
      groupBy: ['customer'],
    };
    expect(answer.to).toBe(
      DateTime.now().setZone('Europe/Berlin').startOf('day').plus({ days: 1 }).toISO(),
    );
    const expected = [...expectedUsage(flat(), ask)].map(([k, s]) => `${k} ${s.calls} ${s.tokens}`);
    const actual = answer.data.map(
      (r: any) => `${r.date}|${r.customerId}|| ${r.calls} ${r.tokens}`,
    );
    expect(actual.sort()).toEqual(expected.sort());
  }

  async function checkTop(): Promise<void> {
    for (const [by, dimension, limit] of [
      ['calls', 'customer', 3],
      ['tokens', 'endpoint', 2],
      ['calls', 'model', 5],
    ] as const) {
      const answer = (
        await get(`/v1/usage/top?by=${by}&dimension=${dimension}&limit=${limit}&hours=24`)
      ).body;
      const fromMs = Date.parse(answer.from);
      const toMs = Date.parse(answer.to);
      expect(toMs - fromMs).toBe(24 * 3_600_000);
      const totals = new Map<string, { calls: number; tokens: number }>();
      for (const e of flat()) {
        if (e.windowStartMs < fromMs || e.windowStartMs >= toMs) continue;
        const name =
          dimension === 'customer' ? e.customerId : dimension === 'endpoint' ? e.endpoint : e.model;
        if (name === undefined) continue;
        const t = totals.get(name) ?? { calls: 0, tokens: 0 };
        t.calls += 1;
        t.tokens += e.tokens;
        totals.set(name, t);
      }
      const field = dimension === 'customer' ? 'customerId' : dimension;
      const expected = [...totals]
        .sort(([a, x], [b, y]) => y[by] - x[by] || (a < b ? -1 : 1))
        .slice(0, limit)
        .map(([name, t]) => ({ [field]: name, ...t }));
      expect({ by, dimension, data: answer.data }).toEqual({ by, dimension, data: expected });
    }
  }

  it('counts windows open in Redis, flushed, re-opened by late events and flushed again, each once', async () => {
    const now = Date.now();
    // A window with more than a second left, so every event is on time.
    current = Math.floor((now + 1200) / WINDOW_MS) * WINDOW_MS;
    if (current < Math.floor(now / WINDOW_MS) * WINDOW_MS) current += WINDOW_MS;
    const onTime = Array.from({ length: 60 }, (_, i) => sample(i, current + ((i * 37) % 1900)));
    expect((await ingest(app, key, wire(onTime))).status).toBe(202);
    sent.push(...onTime);
    await checkAll('some');

    await waitUntil(current + WINDOW_MS + 600);
    await closer.closeAll();
    await checkAll('none');

    // Past end + grace, within max lateness: counted late in the still-living hash.
    const late = Array.from({ length: 9 }, (_, i) => sample(i + 100, current + 500 + i, true));
    expect((await ingest(app, key, wire(late))).status).toBe(202);
    sent.push(...late);
    await checkAll('some');

    await closer.closeAll();
    const { rows } = await stack.pg.query(
      'SELECT max(version) AS v FROM aggregation_windows WHERE window_start = $1',
      [new Date(current)],
    );
    expect(rows[0].v).toBe(2);
    await checkAll('none');
  });

  it('exports the same rows as CSV, with the groups asked for and formula-looking cells escaped', async () => {
    const ask = asks()[0];
    const json = (await get(ask.url)).body;
    const response = await app.inject({
      method: 'GET',
      url: ask.url.replace('/v1/usage?', '/v1/usage/export?'),
      headers: { 'x-api-key': key },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    const [header, ...lines] = response.body.trim().split('\n');
    expect(header).toBe(
      'bucket_start,bucket_end,customer_id,calls,tokens,input_tokens,output_tokens,avg_latency_ms,late_events',
    );
    expect(lines).toEqual(
      json.data.map((r: any) =>
        [
          r.bucketStart,
          r.bucketEnd,
          r.customerId,
          r.calls,
          r.tokens,
          r.inputTokens,
          r.outputTokens,
          r.avgLatencyMs ?? '',
          r.lateEvents,
        ].join(','),
      ),
    );
  });

  it('lists the open windows of a customer from Redis', async () => {
    const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS + 10 * WINDOW_MS;
    const events = [sample(0, start + 1), sample(3, start + 2), sample(6, start + 3)];
    expect(events.every((e) => e.customerId === 'c-1')).toBe(true);
    await ingest(app, key, wire(events));
    sent.push(...events);
    const answer = (await get('/v1/usage/live?customerId=c-1')).body;
    const window = answer.data[0].windows.find(
      (w: any) => w.windowStart === new Date(start).toISOString(),
    );
    expect(answer.data.map((c: any) => c.customerId)).toEqual(['c-1']);
    const expected = expectedUsage(flat(), {
      fromMs: start,
      toMs: start + WINDOW_MS,
      granularity: 'minute',
      timezone: 'UTC',
      groupBy: [],
    });
    const [sums] = [...expected.values()];
    expect(window).toMatchObject({ calls: 3, tokens: sums.tokens, inputTokens: sums.inputTokens });
  });

  it("pages through a customer's raw events by time", async () => {
    const ingested = sent.filter(
      (e) => e.customerId === 'c-2' && Date.parse(e.timestamp) >= current - 1000,
    );
    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT count(*)::int AS n FROM usage_events WHERE customer_id = $1',
        ['c-2'],
      );
      expect(rows[0].n).toBe(ingested.length);
    });
    const from = new Date(current - 60_000).toISOString();
    const to = new Date(current + 120_000).toISOString();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const reply = await get(
        `/v1/events?customerId=c-2&from=${from}&to=${to}&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(reply.status).toBe(200);
      expect(reply.body.data.length).toBeLessThanOrEqual(4);
      seen.push(...reply.body.data.map((e: any) => `${e.timestamp} ${e.eventId}`));
      cursor = reply.body.nextCursor;
    } while (cursor);
    const expected = ingested
      .map((e) => `${new Date(Date.parse(e.timestamp)).toISOString()} ${e.eventId}`)
      .sort();
    expect(seen).toEqual(expected);
    // From the first instant there is (the fuzz test found a 500 here): the same events.
    const all = await get(
      `/v1/events?customerId=c-2&from=0001-01-01T00:00:00Z&to=${to}&limit=1000`,
    );
    expect(all.status).toBe(200);
    expect(all.body.data.map((e: any) => `${e.timestamp} ${e.eventId}`)).toEqual(expected);
    // The range in whole seconds written with ISO 8601's `+hh` offset, which Date.parse
    // reads as NaN: the same events.
    const inPlus05 = (ms: number) =>
      `${new Date(ms + 5 * 3_600_000).toISOString().slice(0, 19)}%2B05`;
    const fromSecond = Math.floor((current - 60_000) / 1000) * 1000;
    const toSecond = Math.ceil((current + 120_000) / 1000) * 1000;
    const offset = await get(
      `/v1/events?customerId=c-2&from=${inPlus05(fromSecond)}&to=${inPlus05(toSecond)}&limit=1000`,
    );
    expect(offset.status).toBe(200);
    expect(offset.body.data.map((e: any) => `${e.timestamp} ${e.eventId}`)).toEqual(expected);
  });

  it('reads ranges written with any offset the date-time format takes, as their instants', async () => {
    const inZ = await get(
      '/v1/usage?granularity=hour&from=2026-11-01T00:00:00Z&to=2026-11-01T02:00:00Z',
    );
    // `+05` is ISO 8601's, which Date.parse reads as NaN; `+0530` and `t`/`z` too.
    for (const range of [
      'from=2026-11-01T05:00:00%2B05&to=2026-11-01T07:00:00%2B05',
      'from=2026-11-01T05:30:00%2B0530&to=2026-11-01t02:00:00z',
    ]) {
      const reply = await get(`/v1/usage?granularity=hour&${range}`);
      expect({ range, status: reply.status }).toEqual({ range, status: 200 });
      expect({ ...reply.body, asOf: null }).toEqual({ ...inZ.body, asOf: null });
    }
  });

  it.each([
    ['/v1/usage?timezone=Mars/Olympus', '/timezone'],
    ['/v1/usage?groupBy=endpoint,model', '/groupBy'],
    ['/v1/usage?groupBy=endpoint&model=gpt-4', '/groupBy'],
    ['/v1/usage?granularity=minute&from=2026-09-01T00:00:00Z', '/granularity'],
    ['/v1/usage?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z', '/from'],
    ['/v1/usage?granularity=week', '/granularity'],
    ['/v1/usage/top?limit=0', '/limit'],
    ['/v1/usage/daily?timezone=', '/timezone'],
    ['/v1/events?from=2026-11-01T00:00:00Z', '/customerId'],
    ['/v1/events?customerId=c-1&cursor=nonsense', '/cursor'],
    // A day before the first instant there is (found by the fuzz test: a 500).
    ['/v1/events?customerId=c-1&to=0001-01-01T00:00:00Z', '/from'],
  ])('refuses %s with a 400 naming %s', async (url, path) => {
    const reply = await get(url);
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(reply.body.errors.map((e: any) => e.path)).toContain(path);
  });
});

async function waitUntil(ms: number): Promise<void> {
  const wait = ms - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
