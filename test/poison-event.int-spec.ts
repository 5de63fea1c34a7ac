import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Redis } from 'ioredis';
import { REDIS } from '../src/infra/redis/redis.tokens';
import { IngestBatcher } from '../src/ingestion/ingest-batcher';
import { IngestArgumentError } from '../src/window-store/ingest-failure';
import { IngestScript } from '../src/window-store/ingest-script';
import { IngestionService } from '../src/ingestion/ingestion.service';
import type { MeteringEvent } from '../src/window-store/metering-event';
import { createTenant, event, type EventInput, ingest, request } from './support/api';
import { TestStack } from './support/harness';
import { expectStoredOnce, expectWindowsOf } from './support/stored';
import { workload } from './support/workload';

const WINDOW_MS = 2000;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The event as the validator would have turned it into the hot path's shape. */
function metering(e: EventInput, tenantId: string): MeteringEvent {
  const m = (e.metadata ?? {}) as Record<string, number | string | undefined>;
  const inputTokens = Number(m.inputTokens ?? 0);
  const outputTokens = Number(m.outputTokens ?? 0);
  return {
    eventId: e.eventId!,
    timestampMs: Date.parse(e.timestamp),
    tenantId,
    customerId: e.customerId,
    endpoint: e.apiEndpoint,
    tokens: Number(m.tokens ?? inputTokens + outputTokens),
    inputTokens,
    outputTokens,
    latencyMs: m.latencyMs === undefined ? undefined : Number(m.latencyMs),
    model: typeof m.model === 'string' ? m.model : undefined,
    metadata: { ...m, tokens: Number(m.tokens ?? inputTokens + outputTokens) },
  };
}

describe('a poison event harms nobody: refused whole, or failing only its own request', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let script: IngestScript;

  beforeAll(async () => {
    // One shard and a long batch delay: every concurrent request shares one script call.
    stack = await TestStack.create({ SHARDS: '1', INGEST_BATCH_DELAY_MS: '50' });
    app = await stack.start();
    script = app.get(IngestScript);
  });

  afterAll(() => stack.dispose());

  afterEach(() => jest.restoreAllMocks());

  it('refuses a leap-second timestamp with 400 at its path and counts nothing (defect 1)', async () => {
    const { tenantId, key } = await createTenant(app, 'leap');
    const now = new Date().toISOString();
    const ok = { eventId: 'ok-1', timestamp: now, customerId: 'c-1', apiEndpoint: '/x' };
    const reply = await ingest(app, key, [
      ok,
      { eventId: 'bad-1', timestamp: '2026-11-30T23:59:60Z', customerId: 'c-1', apiEndpoint: '/x' },
    ]);
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(reply.body.errors).toEqual([
      { path: '/1/timestamp', message: expect.stringMatching(/exact instant.*leap second/) },
    ]);
    expect(await stack.keys('*NaN*')).toEqual([]);
    expect(await stack.keys(`*:w:${tenantId}:*`)).toEqual([]);
    expect(await stack.keys(`*:dd:${tenantId}:*`)).toEqual([]);
    for (const stream of await stack.keys('*:events')) {
      expect(await stack.redis.xlen(stream)).toBe(0);
    }
    // ok-1 was not marked seen: sent alone it is new, not a duplicate.
    expect((await ingest(app, key, ok)).body).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('refuses date-times without an exact instant in the windows query, 400 not 500', async () => {
    const { key } = await createTenant(app, 'query');
    const get = (query: string) =>
      request(app, 'GET', `/v1/windows?${query}`, { headers: { 'x-api-key': key } });
    for (const [query, path] of [
      ['from=0000-01-01T00:00:00Z', '/from'],
      ['to=2026-11-30T23:59:60Z', '/to'],
      ['from=2026-11-21T10:00:00Z&to=10000-01-01T00:00:00Z', '/to'],
    ]) {
      const reply = await get(query);
      expect(reply.status).toBe(400);
      expect(reply.body.errors).toEqual([
        { path, message: expect.stringMatching(/exact instant/) },
      ]);
    }
    // The edges of the range, and an ISO offset Date.parse cannot read, are instants.
    for (const query of [
      'from=0001-01-01T00:00:00Z',
      'to=0001-01-01T00:00:01Z',
      'from=2026-11-21T10:00:00%2B05&to=9999-12-31T23:59:59.999Z',
    ]) {
      expect((await get(query)).status).toBe(200);
    }
  });

  describe('a refused shard-batch call fails only the request that caused it', () => {
    async function tenantsSending(count: number) {
      const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
      return Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const tenant = await createTenant(app, `batch-${i}`);
          const events = workload(20 + i, [`c-${i}`, 'shared'], [start, start + WINDOW_MS]);
          return { ...tenant, events };
        }),
      );
    }

    /**
     * The tenants' validated events handed to the ingest service in one event-loop turn,
     * as the controller does after validation: every submit lands in the same batch
     * whatever the load, where HTTP requests might straggle past its delay.
     */
    function ingestTogether(tenants: { tenantId: string; events: EventInput[] }[]) {
      const service = app.get(IngestionService);
      return tenants.map((t) =>
        service.ingest(
          t.events.map((e) => metering(e, t.tenantId)),
          Date.now(),
        ),
      );
    }

    async function expectCountedExactly(tenants: { tenantId: string; events: EventInput[] }[]) {
      for (const { tenantId, events } of tenants) {
        await expectStoredOnce(stack, tenantId, events);
        await expectWindowsOf(stack, tenantId, events, WINDOW_MS);
      }
    }

    it('when Node refuses a member (a NaN timestamp given to the batcher)', async () => {
      const tenants = await tenantsSending(4);
      const merged = jest.spyOn(script, 'runAll');
      const alone = jest.spyOn(script, 'run');
      const poison = { ...metering(tenants[0].events[0], tenants[0].tenantId) };
      poison.eventId = 'poison';
      poison.timestampMs = NaN;
      const [poisoned, ...replies] = await Promise.allSettled([
        app.get(IngestBatcher).submit(0, [poison], Date.now()),
        ...ingestTogether(tenants),
      ]);
      expect(poisoned).toMatchObject({
        status: 'rejected',
        reason: expect.any(IngestArgumentError),
      });
      tenants.forEach((t, i) =>
        expect(replies[i]).toMatchObject({
          status: 'fulfilled',
          value: { accepted: t.events.length, duplicates: 0 },
        }),
      );
      const total = tenants.reduce((n, t) => n + t.events.length, 1);
      // One shard: one merged call, then each request alone.
      expect(merged.mock.calls.map(([calls]) => calls.map((c) => c.events.length))).toEqual([
        [total],
      ]);
      const sizes = alone.mock.calls.map(([, events]) => events.length);
      expect(sizes.sort()).toEqual([1, ...tenants.map((t) => t.events.length)].sort());
      await expectCountedExactly(tenants);
    });

    it('when the script refuses a member (sums beyond what a double holds)', async () => {
      const tenants = await tenantsSending(3);
      const merged = jest.spyOn(script, 'runAll');
      const alone = jest.spyOn(script, 'run');
      // Each a safe integer, so Node lets them through; their window's sum is not.
      const huge = ['huge-a', 'huge-b'].map((eventId) => ({
        ...metering(tenants[0].events[0], tenants[0].tenantId),
        eventId,
        tokens: MAX_SAFE,
      }));
      const [poisoned, ...replies] = await Promise.allSettled([
        app.get(IngestionService).ingest(huge, Date.now()),
        ...ingestTogether(tenants),
      ]);
      expect(poisoned).toMatchObject({
        status: 'rejected',
        reason: { message: expect.stringMatching(/^TALLY_BADARG sums/) },
      });
      tenants.forEach((t, i) =>
        expect(replies[i]).toMatchObject({
          status: 'fulfilled',
          value: { accepted: t.events.length, duplicates: 0 },
        }),
      );
      expect(merged.mock.calls).toHaveLength(1);
      expect(alone.mock.calls).toHaveLength(1 + tenants.length);
      await expectCountedExactly(tenants);
    });
  });
});

describe('the ingest script checks every argument before its first write', () => {
  let stack: TestStack;
  let redis: Redis;
  let script: IngestScript;

  beforeAll(async () => {
    // No jobs: nothing but the calls below may change a key.
    stack = await TestStack.create();
    const app = await stack.start({ APP_ROLE: 'api' });
    redis = app.get<Redis>(REDIS);
    script = app.get(IngestScript);
  });

  afterAll(() => stack.dispose());

  /** Every key of the stack with its type, value and absolute expiry. */
  async function snapshot(): Promise<Map<string, unknown>> {
    const state = new Map<string, unknown>();
    for (const key of (await stack.keys()).sort()) {
      const [[, type], [, dump], [, expiry]] = (await redis
        .multi()
        .type(key)
        .dumpBuffer(key)
        .call('PEXPIRETIME', key)
        .exec())!;
      state.set(key, [type, (dump as Buffer).toString('hex'), expiry]);
    }
    return state;
  }

  function send(keys: string[], args: (string | number | Buffer)[]): Promise<unknown> {
    const client = redis as unknown as { tallyIngest: (...a: unknown[]) => Promise<unknown> };
    return client.tallyIngest(keys.length, ...keys, ...args);
  }

  it('a call with one malformed value, in its last event, writes nothing', async () => {
    const w0 = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const w1 = w0 + WINDOW_MS;
    const at = (customerId: string, windowStart: number, eventId: string) =>
      metering(
        event({
          eventId,
          timestamp: new Date(windowStart + 100).toISOString(),
          customerId,
          apiEndpoint: '/a',
          metadata: { inputTokens: 3, outputTokens: 4, latencyMs: 20, model: 'm' },
        }),
        'script-tenant',
      );
    await script.run(0, [at('c-1', w0, 'x1'), at('c-2', w1, 'x2')], Date.now());
    const before = await snapshot();
    // Two windows that exist already; the last holds the last two events.
    const { keys, args } = script.call(
      0,
      [at('c-1', w0, 'a'), at('c-2', w1, 'b'), at('c-2', w1, 'c')],
      Date.now(),
    );
    const last = args.length - 8; // the last event's eight values
    const lastWindowEnd = args.length - 2 * 8 - 2;
    const malformed: [string, (a: (string | number | Buffer)[]) => void][] = [
      ['tokens 1.5', (a) => (a[last + 1] = '1.5')],
      ['tokens NaN', (a) => (a[last + 1] = 'NaN')],
      ['input -1', (a) => (a[last + 2] = -1)],
      ['output 1e300', (a) => (a[last + 3] = '1e300')],
      ['latency -2', (a) => (a[last + 4] = -2)],
      ['latency inf', (a) => (a[last + 4] = 'inf')],
      ['empty dedup member', (a) => (a[last] = '')],
      ['dedup member without an id', (a) => (a[last] = Buffer.from([1, 2]))],
      ['empty stream JSON', (a) => (a[last + 7] = '')],
      ['window end NaN', (a) => (a[lastWindowEnd] = 'NaN')],
      ['a missing argument', (a) => a.pop()],
      ['sums beyond 2^53', (a) => ((a[last + 1] = MAX_SAFE), (a[last - 8 + 1] = MAX_SAFE))],
    ];
    for (const [name, spoil] of malformed) {
      const spoilt = [...args];
      spoil(spoilt);
      const error = await send(keys, spoilt).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect({ name, state: await snapshot() }).toEqual({ name, state: before });
      expect({ name, error: error?.message }).toEqual({
        name,
        error: expect.stringMatching(/^TALLY_BADARG .*nothing was written/),
      });
    }
    const outcomes = (await send(keys, args)) as number[];
    expect(outcomes).toHaveLength(3);
    expect(outcomes).not.toContain(0); // all new: none was marked seen by a refused call
    expect(await snapshot()).not.toEqual(before);
  });
});
