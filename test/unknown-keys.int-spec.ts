import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { SystemDatabase } from '../src/infra/database/system-database';
import { createKey, createTenant } from './support/api';
import { TestStack } from './support/harness';

const LIMIT = 5;
const PERIOD_SECONDS = 60;

describe('a flood of unknown API keys', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let key: string;

  beforeAll(async () => {
    stack = await TestStack.create({
      UNKNOWN_KEY_LIMIT: String(LIMIT),
      UNKNOWN_KEY_PERIOD_SECONDS: String(PERIOD_SECONDS),
      // No background jobs: every cross-tenant query below is a key lookup.
      APP_ROLE: 'api',
    });
    app = await stack.start();
    ({ key } = await createTenant(app));
  });

  afterAll(() => stack.dispose());

  const randomKey = () =>
    `tly_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}`;

  function read(apiKey: string, from: string) {
    return app.inject({
      method: 'GET',
      url: '/v1/customers',
      headers: { 'x-api-key': apiKey },
      remoteAddress: from,
    });
  }

  async function lookups(): Promise<Record<string, number>> {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const counts: Record<string, number> = {};
    for (const [, outcome, value] of text.matchAll(
      /^tally_api_key_lookups_total\{outcome="(\w+)"\} (\d+)$/gm,
    )) {
      counts[outcome] = Number(value);
    }
    return counts;
  }

  /** Calls to Postgres across tenants (the key lookup's path) while `work` runs. */
  async function postgresLookups(work: () => Promise<void>): Promise<number> {
    const spy = jest.spyOn(app.get(SystemDatabase), 'runAcrossTenants');
    try {
      await work();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  }

  it('answers 401 within the budget, then 429 with Retry-After, without asking Postgres', async () => {
    expect((await read(key, '10.0.0.1')).statusCode).toBe(200);
    const before = await lookups();
    const statuses: number[] = [];
    const queried = await postgresLookups(async () => {
      for (let i = 0; i < LIMIT + 7; i++) {
        const reply = await read(randomKey(), '10.0.0.2');
        statuses.push(reply.statusCode);
        expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
        if (reply.statusCode === 429) {
          const retryAfter = Number(reply.headers['retry-after']);
          expect(retryAfter).toBeGreaterThanOrEqual(1);
          expect(retryAfter).toBeLessThanOrEqual(PERIOD_SECONDS);
          expect(reply.json()).toMatchObject({ status: 429, code: 'rate_limited' });
        }
      }
    });
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), ...Array<number>(7).fill(429)]);
    expect(queried).toBe(LIMIT);
    const after = await lookups();
    expect(after.unknown - before.unknown).toBe(LIMIT);
    expect(after.refused - before.refused).toBe(7);

    // Other addresses have budgets of their own.
    expect((await read(randomKey(), '10.0.0.3')).statusCode).toBe(401);
  });

  it('keeps a key seen to exist working for everyone, the spent address included', async () => {
    for (const from of ['10.0.0.2', '10.0.0.4']) {
      expect({ from, status: (await read(key, from)).statusCode }).toEqual({ from, status: 200 });
    }
    // A key this instance has not yet seen waits out the period at a spent address, and
    // works from any other; once seen, from the spent one too.
    const fresh = await createKey(app, key, ['read']);
    expect((await read(fresh, '10.0.0.2')).statusCode).toBe(429);
    expect((await read(fresh, '10.0.0.5')).statusCode).toBe(200);
    expect((await read(fresh, '10.0.0.2')).statusCode).toBe(200);
  });

  it('asks Postgres once for an unknown key sent again and again (negative cache)', async () => {
    const unknown = randomKey();
    const queried = await postgresLookups(async () => {
      for (let i = 0; i < 10; i++) expect((await read(unknown, '10.0.0.6')).statusCode).toBe(401);
    });
    expect(queried).toBe(1);
  });

  it('counts an IPv6 /64 as one address', async () => {
    for (let i = 0; i < LIMIT; i++) {
      expect((await read(randomKey(), `2001:db8:0:7::${i + 1}`)).statusCode).toBe(401);
    }
    expect((await read(randomKey(), '2001:db8:0:7:ffff::1')).statusCode).toBe(429);
    expect((await read(randomKey(), '2001:db8:0:8::1')).statusCode).toBe(401);
  });
});

describe('the unknown-key budget behind a trusted proxy', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    stack = await TestStack.create({ UNKNOWN_KEY_LIMIT: '2', TRUST_PROXY: '10.1.0.0/16' });
    app = await stack.start();
  });

  afterAll(() => stack.dispose());

  const randomKey = () =>
    `tly_${randomBytes(4).toString('hex')}_${randomBytes(32).toString('base64url')}`;

  async function statuses(from: string, forwardedFor: string, count: number): Promise<number[]> {
    const answers: number[] = [];
    for (let i = 0; i < count; i++) {
      const reply = await app.inject({
        method: 'GET',
        url: '/v1/customers',
        headers: { 'x-api-key': randomKey(), 'x-forwarded-for': forwardedFor },
        remoteAddress: from,
      });
      answers.push(reply.statusCode);
    }
    return answers;
  }

  it('counts the client X-Forwarded-For names, when the proxy is trusted, and only then', async () => {
    // Two clients behind the proxy: a budget each.
    expect(await statuses('10.1.0.5', '203.0.113.1', 3)).toEqual([401, 401, 429]);
    expect(await statuses('10.1.0.5', '203.0.113.2', 2)).toEqual([401, 401]);
    // A peer outside TRUST_PROXY cannot pick its address by the header.
    expect(await statuses('198.51.100.7', '203.0.113.3', 3)).toEqual([401, 401, 429]);
    expect(await statuses('198.51.100.7', '203.0.113.4', 1)).toEqual([429]);
  });
});
