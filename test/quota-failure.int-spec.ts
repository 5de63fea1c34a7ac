import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { LIMITER_REDIS, REDIS } from '../src/infra/redis/redis.tokens';
import { createKey, createTenant, ensureCustomer, request } from './support/api';
import { eventually, TestStack } from './support/harness';
import { reachable } from './support/services';

/** A Redis of this file's own, so it can be killed without touching anyone else's. */
class ThrowawayRedis {
  private process: ChildProcess | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && !this.process.killed;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await eventually(async () => expect(await reachable('127.0.0.1', this.port)).toBe(true), 5000);
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('quota failure policy when Redis is unreachable', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;
  let open: NestFastifyApplication;
  let closed: NestFastifyApplication;
  let as: { headers: Record<string, string> };
  const body = { customerId: 'c-1', metric: 'calls', units: 1 };

  beforeAll(async () => {
    redis = new ThrowawayRedis(await freePort());
    await redis.start();
    stack = await TestStack.create({
      REDIS_URL: redis.url,
      APP_ROLE: 'api',
      QUOTA_REDIS_TIMEOUT_MS: '200',
    });
    open = await stack.start({ QUOTA_FAILURE_POLICY: 'open' });
    closed = await stack.start({ QUOTA_FAILURE_POLICY: 'closed' });
    const { key } = await createTenant(open);
    as = { headers: { 'x-api-key': key } };
    await ensureCustomer(open, key, 'c-1');
    const put = await request(open, 'PUT', '/v1/customers/c-1/quotas/calls', {
      ...as,
      body: { limit: 1, period: '1h', algorithm: 'fixed' },
    });
    expect(put.status).toBe(200);
  });

  afterAll(async () => {
    await redis.start();
    await stack.dispose();
    await redis.kill();
  });

  it('enforces normally while Redis answers, naming the policy', async () => {
    const first = await request(open, 'POST', '/v1/quotas/consume', { ...as, body });
    expect(first).toMatchObject({ status: 200, body: { enforced: true, remaining: 0 } });
    expect(first.headers['tally-quota-policy']).toBe('fail-open');
    const second = await request(closed, 'POST', '/v1/quotas/consume', { ...as, body });
    expect(second.status).toBe(429);
    expect(second.headers['tally-quota-policy']).toBe('fail-closed');
  });

  it('fail-open allows unchecked and logs; fail-closed answers 503 with Retry-After', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    await redis.kill();

    const started = Date.now();
    const allowed = await request(open, 'POST', '/v1/quotas/consume', { ...as, body });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(allowed).toMatchObject({
      status: 200,
      body: { allowed: true, enforced: false, limit: null, remaining: null, limits: [] },
    });
    expect(allowed.headers['tally-quota-policy']).toBe('fail-open');
    expect(allowed.headers['ratelimit-limit']).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('fail-open let 1 call(s) through'));
    warn.mockRestore();

    const refused = await request(closed, 'POST', '/v1/quotas/consume', { ...as, body });
    expect(refused).toMatchObject({ status: 503, body: { code: 'unavailable', status: 503 } });
    expect(refused.headers).toMatchObject({
      'retry-after': '1',
      'tally-quota-policy': 'fail-closed',
    });
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);

    const status = await request(open, 'GET', '/v1/quotas/status?customerId=c-1', as);
    expect(status.status).toBe(503);
  });

  it('applies the same policy when the definitions cannot be read on a cache miss', async () => {
    // A tenant whose definitions no instance has read yet.
    const fresh = { headers: { 'x-api-key': (await createTenant(open)).key } };
    await stack.pg.query('ALTER TABLE quotas RENAME TO quotas_away');
    try {
      const allowed = await request(open, 'POST', '/v1/quotas/consume', { ...fresh, body });
      expect(allowed).toMatchObject({ status: 200, body: { allowed: true, enforced: false } });
      const refused = await request(closed, 'POST', '/v1/quotas/consume', { ...fresh, body });
      expect(refused).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
    } finally {
      await stack.pg.query('ALTER TABLE quotas_away RENAME TO quotas');
    }
  });

  it('enforces again once Redis is back', async () => {
    await redis.start();
    // Each instance reconnects on its own backoff (up to 2 s apart), failing open until then.
    await eventually(async () => {
      for (const app of [open, closed]) {
        for (const token of [REDIS, LIMITER_REDIS])
          expect(app.get<Redis>(token).status).toBe('ready');
      }
    });
    await eventually(async () => {
      const reply = await request(closed, 'POST', '/v1/quotas/consume', { ...as, body });
      expect(reply.body).toMatchObject({ allowed: true, enforced: true, remaining: 0 });
    });
    const next = await request(open, 'POST', '/v1/quotas/consume', { ...as, body });
    expect(next.status).toBe(429);
  });

  it("answers the key's own 429 before the failure policy when the definitions cannot be read", async () => {
    const { key: admin } = await createTenant(open);
    const limited = await createKey(open, admin, ['ingest'], {
      events: { limit: 1, period: '1h' },
    });
    const gateway = { headers: { 'x-api-key': limited } };
    await stack.pg.query('ALTER TABLE quotas RENAME TO quotas_away');
    try {
      // Fail-open leaves the customer's limits unjudged, not the key's own budget.
      const unchecked = await request(open, 'POST', '/v1/quotas/consume', { ...gateway, body });
      expect(unchecked).toMatchObject({ status: 200, body: { allowed: true, enforced: false } });
      // The budget is spent: fail-closed answers the key's 429, not its own 503.
      const refused = await request(closed, 'POST', '/v1/quotas/consume', { ...gateway, body });
      expect(refused.status).toBe(429);
      expect(refused.body.detail).toMatch(/events rate/);
      expect(refused.headers['ratelimit-limit']).toBe('1');
    } finally {
      await stack.pg.query('ALTER TABLE quotas_away RENAME TO quotas');
    }
  });
});
