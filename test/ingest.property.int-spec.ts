import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { createTenant, type EventInput, ingest, type Reply } from './support/api';
import { TestStack } from './support/harness';
import { expectStoredOnce, expectWindowsOf } from './support/stored';

const WINDOW_MS = 2000;
const TENANTS = 3;

/** How an accepted event writes its instant: all of them name the same millisecond. */
const FORMS = ['iso', 'offset', 'offsetNoColon', 'offsetHours', 'lower', 'space', 'micro'] as const;

/** Ways an event must be refused, each by the validator. */
const FLAWS = [
  'leapSecond',
  'year0000',
  'year10000',
  'beyond9999',
  'offset24h',
  'noZone',
  'negativeTokens',
  'fractionalTokens',
  'tooManyTokens',
  'nulInCustomer',
  'nulInMetadata',
  'controlInEndpoint',
  'missingEndpoint',
  'unknownField',
  'future',
  'pastRetention',
  'foreignTenant',
] as const;
type Flaw = (typeof FLAWS)[number];

const validSpec = fc.record({
  customer: fc.constantFrom('c-0', 'c-1', 'c-ü'),
  endpoint: fc.constantFrom('/chat', '/embed'),
  // Up to 8 s old: many land in windows already flushed, and take the late path.
  ageMs: fc.integer({ min: 0, max: 8000 }),
  form: fc.constantFrom(...FORMS),
  offsetMinutes: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
  metadata: fc.record(
    {
      inputTokens: fc.nat(1000),
      outputTokens: fc.nat(1000),
      tokens: fc.nat(5000),
      latencyMs: fc.nat(500),
      model: fc.constantFrom('m-1', 'm-2'),
      region: fc.constantFrom('eu', 'us'),
    },
    { requiredKeys: [] },
  ),
  namesOwnTenant: fc.boolean(),
});
type ValidSpec = typeof validSpec extends fc.Arbitrary<infer T> ? T : never;

const eventSpec = fc.oneof(
  { weight: 5, arbitrary: validSpec.map((spec) => ({ spec, flaw: undefined })) },
  {
    weight: 1,
    arbitrary: fc.record({ spec: validSpec, flaw: fc.constantFrom<Flaw>(...FLAWS) }),
  },
);

const requestSpec = fc.record({
  tenant: fc.nat(TENANTS - 1),
  events: fc.array(eventSpec, { minLength: 1, maxLength: 6 }),
  /** The request holds its first event twice: counted once. */
  repeatFirst: fc.boolean(),
  /** Instead, the tenant's last accepted request is sent again: all duplicates. */
  resend: fc.boolean(),
});
type RequestSpec = typeof requestSpec extends fc.Arbitrary<infer T> ? T : never;

/**
 * Property: random mixes of valid events and events that must be refused, from several
 * tenants, sent as concurrent requests (merged by the batcher across tenants) →
 * each request is answered 202 (every event counted or a duplicate) or 400/403 (nothing
 * ingested), never 5xx; every acknowledged event is in usage_events exactly once and no
 * refused one is; every window, once flushed, equals its raw events.
 */
describe('the ingest path under random valid and invalid traffic (property)', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let tenants: { tenantId: string; key: string }[];
  /** Per tenant: every acknowledged event, with its instant written canonically. */
  const acknowledged = new Map<string, EventInput[]>();
  /** Per tenant: the body of its last request answered 202 with new events. */
  const lastAccepted = new Map<string, unknown[]>();

  beforeAll(async () => {
    stack = await TestStack.create({ SHARDS: '2', INGEST_BATCH_DELAY_MS: '5' });
    app = await stack.start();
    tenants = [];
    for (let i = 0; i < TENANTS; i++) tenants.push(await createTenant(app, `prop-${i}`));
    for (const t of tenants) acknowledged.set(t.tenantId, []);
  });

  afterAll(() => stack.dispose());

  function build(spec: ValidSpec, tenantId: string, nowMs: number) {
    const ms = nowMs - spec.ageMs;
    const canonical: EventInput = {
      eventId: randomUUID(),
      timestamp: new Date(ms).toISOString(),
      customerId: spec.customer,
      apiEndpoint: spec.endpoint,
      ...(Object.keys(spec.metadata).length > 0 ? { metadata: spec.metadata } : {}),
    };
    const body: Record<string, unknown> = {
      ...canonical,
      timestamp: written(ms, spec.form, spec.offsetMinutes),
      ...(spec.namesOwnTenant ? { tenantId } : {}),
    };
    return { canonical, body };
  }

  function spoil(body: Record<string, unknown>, flaw: Flaw, nowMs: number, other: string) {
    const metadata = { ...(body.metadata as object) };
    const changes: Record<Flaw, () => void> = {
      leapSecond: () =>
        (body.timestamp = `${new Date(nowMs).toISOString().slice(0, 10)}T23:59:60Z`),
      year0000: () => (body.timestamp = '0000-01-01T00:00:00Z'),
      year10000: () => (body.timestamp = '10000-01-01T00:00:00Z'),
      beyond9999: () => (body.timestamp = '9999-12-31T23:30:00-01:00'),
      offset24h: () => (body.timestamp = `${new Date(nowMs).toISOString().slice(0, 19)}+24:00`),
      noZone: () => (body.timestamp = new Date(nowMs).toISOString().slice(0, 19)),
      negativeTokens: () => (body.metadata = { ...metadata, inputTokens: -1 }),
      fractionalTokens: () => (body.metadata = { ...metadata, tokens: 1.5 }),
      tooManyTokens: () => (body.metadata = { ...metadata, tokens: 1e12 + 1 }),
      nulInCustomer: () => (body.customerId = 'c\u0000'),
      nulInMetadata: () => (body.metadata = { ...metadata, note: 'a\u0000b' }),
      controlInEndpoint: () => (body.apiEndpoint = '/a\u0007'),
      missingEndpoint: () => delete body.apiEndpoint,
      unknownField: () => (body.customer_id = 'typo'),
      future: () => (body.timestamp = new Date(nowMs + 3_600_000).toISOString()),
      pastRetention: () => (body.timestamp = new Date(nowMs - 40 * 86_400_000).toISOString()),
      foreignTenant: () => (body.tenantId = other),
    };
    changes[flaw]();
  }

  /** Sends one request; returns what the ledger must learn from its answer. */
  async function send(spec: RequestSpec, nowMs: number) {
    const { tenantId, key } = tenants[spec.tenant];
    const previous = lastAccepted.get(tenantId);
    if (spec.resend && previous) {
      const reply = await ingest(app, key, previous);
      expect(reply.status).toBe(202);
      expect(reply.body).toEqual({ accepted: 0, duplicates: previous.length });
      return;
    }
    const other = tenants[(spec.tenant + 1) % TENANTS].tenantId;
    const built = spec.events.map(({ spec: s, flaw }) => {
      const { canonical, body } = build(s, tenantId, nowMs);
      if (flaw) spoil(body, flaw, nowMs, other);
      return { canonical, body, flaw };
    });
    const bodies = built.map((b) => b.body);
    if (spec.repeatFirst) bodies.push(bodies[0]);
    const reply = await ingest(app, key, bodies);
    const flaws = built.flatMap((b) => (b.flaw ? [b.flaw] : []));
    expectAnswer(reply, flaws, built.length, bodies.length);
    if (reply.status === 202) {
      acknowledged.get(tenantId)!.push(...built.map((b) => b.canonical));
      lastAccepted.set(tenantId, bodies);
    }
  }

  it('acknowledges exactly, refuses whole, and keeps windows equal to raw events', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(requestSpec, { minLength: 2, maxLength: 8 }), async (specs) => {
        const nowMs = Date.now();
        await Promise.all(specs.map((spec) => send(spec, nowMs)));
        expect(await stack.keys('*NaN*')).toEqual([]);
        for (const { tenantId } of tenants) {
          await expectStoredOnce(stack, tenantId, acknowledged.get(tenantId)!);
        }
      }),
      { numRuns: 40, endOnFailure: true },
    );
    for (const { tenantId } of tenants) {
      await expectWindowsOf(stack, tenantId, acknowledged.get(tenantId)!, WINDOW_MS, 30_000);
    }
    const total = [...acknowledged.values()].reduce((n, list) => n + list.length, 0);
    expect(total).toBeGreaterThan(0);
  });
});

/** 202 with every distinct event new, or the refusal the flaws call for; never 5xx. */
function expectAnswer(reply: Reply, flaws: Flaw[], distinct: number, sent: number): void {
  if (flaws.length === 0) {
    expect(reply.status).toBe(202);
    expect(reply.body).toEqual({ accepted: distinct, duplicates: sent - distinct });
    return;
  }
  const onlyForeign = flaws.every((f) => f === 'foreignTenant');
  expect({ status: reply.status, flaws }).toEqual({ status: onlyForeign ? 403 : 400, flaws });
  expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
}

/** The instant `ms` written in one of the forms a producer may use. */
function written(ms: number, form: (typeof FORMS)[number], offsetMinutes: number): string {
  const iso = new Date(ms).toISOString();
  const zoned = (offset: number, colon: boolean, minutes: boolean) => {
    const local = new Date(ms + offset * 60_000).toISOString().slice(0, -1);
    const abs = Math.abs(offset);
    const hh = String(Math.floor(abs / 60)).padStart(2, '0');
    const mm = String(abs % 60).padStart(2, '0');
    return `${local}${offset < 0 ? '-' : '+'}${hh}${minutes ? `${colon ? ':' : ''}${mm}` : ''}`;
  };
  switch (form) {
    case 'iso':
      return iso;
    case 'offset':
      return zoned(offsetMinutes, true, true);
    case 'offsetNoColon':
      return zoned(offsetMinutes, false, true);
    case 'offsetHours':
      return zoned(Math.trunc(offsetMinutes / 60) * 60, false, false);
    case 'lower':
      return iso.toLowerCase();
    case 'space':
      return iso.replace('T', ' ');
    case 'micro':
      return iso.replace('Z', '789Z');
  }
}
