import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { QueryFailedError } from 'typeorm';
import { ErrorCode } from '../src/common/errors/domain-error';
import { DatabaseUnavailableError } from '../src/infra/database/pg-errors';
import { SystemDatabase } from '../src/infra/database/system-database';
import { TenantDatabase } from '../src/infra/database/tenant-database';
import { tenantScope } from '../src/infra/database/tenant-scope';
import { issueKey } from '../src/api-keys/api-key-codec';
import { ADMIN_TOKEN, eventually, TestStack } from './support/harness';
import { createTenant, ensureCustomer, event, ingest, request, type Reply } from './support/api';
import { ThrowawayPostgres } from './support/throwaway';

const CACHE_SECONDS = 1;
const STALE_SECONDS = 4;

/**
 * Postgres unreachable, in short: which requests go on from cached state and for how long
 * (the staleness bound), and which become 503 with Retry-After instead of 500. The long
 * run under load is test/faults/postgres-outage.int-spec.ts.
 */
describe('Postgres unreachable', () => {
  let pg: ThrowawayPostgres;
  let stack: TestStack;
  let app: NestFastifyApplication;
  let tenantId: string;
  let key: string;

  beforeAll(async () => {
    pg = await ThrowawayPostgres.start();
    stack = await TestStack.create(
      {
        API_KEY_CACHE_SECONDS: String(CACHE_SECONDS),
        API_KEY_STALE_SECONDS: String(STALE_SECONDS),
        QUOTA_CACHE_SECONDS: String(CACHE_SECONDS),
        QUOTA_STALE_SECONDS: String(STALE_SECONDS),
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
      },
      { databaseServer: pg.url },
    );
    app = await stack.start();
    ({ tenantId, key } = await createTenant(app));
  });

  afterAll(async () => {
    await pg.startServer().catch(() => undefined);
    await stack.dispose();
    await pg.dispose();
  });

  /** Stops Postgres for the body; starts it again even if the body fails. */
  async function whileDown(body: () => Promise<void>): Promise<void> {
    await pg.stop('immediate');
    try {
      await body();
    } finally {
      await pg.startServer();
    }
  }

  const asKey = (k: string) => ({ headers: { 'x-api-key': k } });
  const now = () => new Date().toISOString();
  const oneEvent = () => event({ timestamp: now(), customerId: 'c-1', apiEndpoint: '/a' });
  const consume = () =>
    request(app, 'POST', '/v1/quotas/consume', {
      ...asKey(key),
      body: { customerId: 'q-1', metric: 'calls', units: 1 },
    });

  function expectUnavailable(reply: Reply): void {
    expect(reply).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    expect(reply.headers['retry-after']).toBe('5');
  }

  it('serves known keys, tokens and quota limits from what was read, up to the staleness bound; then 503', async () => {
    // No body, so no JSON content type (Fastify refuses an empty JSON body).
    const minted = await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'x-api-key': key },
    });
    const { accessToken: token } = minted.json<{ accessToken: string }>();
    const asBearer = { headers: { authorization: `Bearer ${token}` } };
    await ensureCustomer(app, key, 'q-1');
    const put = await request(app, 'PUT', '/v1/customers/q-1/quotas/calls', {
      ...asKey(key),
      body: { limit: 3, period: '1h', algorithm: 'fixed' },
    });
    expect(put.status).toBe(200);
    // Everything read once, as a producer's first requests would. The second instance
    // has read the key but never the tenant's quota definitions.
    const other = await stack.start({ APP_ROLE: 'api' });
    expect((await ingest(other, key, oneEvent())).status).toBe(202);
    expect((await ingest(app, key, oneEvent())).status).toBe(202);
    expect((await request(app, 'GET', '/v1/windows', asBearer)).status).toBe(200);
    expect((await consume()).body).toMatchObject({ allowed: true, remaining: 2 });

    await whileDown(async () => {
      const downAt = Date.now();
      await sleep(CACHE_SECONDS * 1000 + 500);

      // Past the cache period: the reload fails, the last state answers.
      expect((await ingest(app, key, oneEvent())).status).toBe(202);
      expect(
        (await request(app, 'POST', '/v1/events', { ...asBearer, body: oneEvent() })).status,
      ).toBe(202);
      const decisions = [await consume(), await consume()];
      expect(decisions.map((r) => [r.status, r.body.remaining])).toEqual([
        [200, 1],
        [200, 0],
      ]);
      const refused = await consume();
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBeDefined();
      const tokenDuringOutage = await app.inject({
        method: 'POST',
        url: '/v1/auth/token',
        headers: { 'x-api-key': key },
      });
      expect(tokenDuringOutage.statusCode).toBe(200);
      // An instance with nothing to fall back on cannot judge: the failure policy (open).
      const unjudged = await request(other, 'POST', '/v1/quotas/consume', {
        ...asKey(key),
        body: { customerId: 'q-1', metric: 'calls', units: 1 },
      });
      expect(unjudged).toMatchObject({ status: 200, body: { allowed: true, enforced: false } });
      const status = await request(app, 'GET', '/v1/quotas/status?customerId=q-1', asKey(key));
      expect(status.status).toBe(200);
      expect(status.body.limits[0]).toMatchObject({ limit: 3, remaining: 0 });

      // What needs Postgres itself: 503 with Retry-After, never 500.
      expectUnavailable(await request(app, 'GET', '/v1/windows', asKey(key)));
      expectUnavailable(await request(app, 'GET', '/v1/customers', asBearer));
      expectUnavailable(
        await request(app, 'POST', '/v1/customers', { ...asKey(key), body: { externalId: 'n' } }),
      );
      expectUnavailable(
        await request(app, 'POST', '/v1/tenants', {
          headers: { 'x-admin-token': ADMIN_TOKEN },
          body: { name: 'during-outage' },
        }),
      );
      expectUnavailable(await ingest(app, issueKey().key, oneEvent()));

      // Beyond the bound (measured from the last successful read, before the stop).
      await sleep(Math.max(0, downAt + STALE_SECONDS * 1000 + 500 - Date.now()));
      expectUnavailable(await ingest(app, key, oneEvent()));
      expectUnavailable(
        await request(app, 'POST', '/v1/events', { ...asBearer, body: oneEvent() }),
      );
      expectUnavailable(await consume());
    });

    await stack.stop(other);
    // Back: the same instance recovers by itself.
    await eventually(async () => expect((await ingest(app, key, oneEvent())).status).toBe(202));
    expect((await request(app, 'GET', '/v1/windows', asKey(key))).status).toBe(200);
    expect((await ingest(app, issueKey().key, oneEvent())).status).toBe(401);
  });

  it('turns every way of not reaching Postgres into DatabaseUnavailableError, at both doors', async () => {
    const tenantDb = app.get(TenantDatabase);
    const systemDb = app.get(SystemDatabase);
    const scope = tenantScope(tenantId);

    await whileDown(async () => {
      await expect(tenantDb.run(scope, (m) => m.query('SELECT 1'))).rejects.toBeInstanceOf(
        DatabaseUnavailableError,
      );
      await expect(systemDb.runAcrossTenants((m) => m.query('SELECT 1'))).rejects.toBeInstanceOf(
        DatabaseUnavailableError,
      );
    });

    // The server ends the session under a running query (57P01, as a shutdown does).
    const admin = new Client({ connectionString: stack.env.DATABASE_URL });
    await admin.connect();
    try {
      await eventually(() => tenantDb.run(scope, (m) => m.query('SELECT 1')));
      const sleeping = tenantDb.run(scope, (m) => m.query('SELECT pg_sleep(30) AS marker'));
      const settled = sleeping.catch((error: unknown) => error);
      await eventually(async () => {
        const { rows } = await admin.query(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
            WHERE query LIKE 'SELECT pg_sleep(30) AS marker%'`,
        );
        expect(rows).toEqual([{ ok: true }]);
      });
      expect(await settled).toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      await admin.end();
    }
  });

  it('answers 503 when no pool connection comes within DATABASE_CONNECT_TIMEOUT_MS', async () => {
    const small = await stack.start({
      APP_ROLE: 'api',
      DATABASE_POOL_SIZE: '1',
      DATABASE_CONNECT_TIMEOUT_MS: '200',
    });
    const tenantDb = small.get(TenantDatabase);
    const scope = tenantScope(tenantId);
    let holderDone = false;
    const holding = tenantDb
      .run(scope, (m) => m.query('SELECT pg_sleep(3)'))
      .finally(() => (holderDone = true));
    await sleep(50);
    const error: unknown = await tenantDb.run(scope, (m) => m.query('SELECT 1')).catch((e) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    // It gave up waiting; it did not get the connection once the holder let go.
    expect(holderDone).toBe(false);
    await holding;
    await stack.stop(small);
  });

  it('leaves errors Postgres answered as they are: a conflict stays 409, a failing query stays itself (a 500 at the filter)', async () => {
    const tenantDb = app.get(TenantDatabase);
    const failed: unknown = await tenantDb
      .run(tenantScope(tenantId), (m) => m.query('SELECT 1 / 0'))
      .catch((e) => e);
    expect(failed).toBeInstanceOf(QueryFailedError);
    expect(failed).toMatchObject({ code: '22012' });
    await ensureCustomer(app, key, 'dup');
    const again = await request(app, 'POST', '/v1/customers', {
      ...asKey(key),
      body: { externalId: 'dup' },
    });
    expect(again).toMatchObject({ status: 409, body: { code: ErrorCode.Conflict } });
  });

  it('still refuses ingestion above the stream high-water mark while Postgres is down, and drains after', async () => {
    const limited = await stack.start({ STREAM_HIGH_WATER: '3' });
    const { tenantId: tenant, key: limitedKey } = await createTenant(limited, 'high-water');
    const acknowledged: string[] = [];
    const send = async () => {
      const e = oneEvent();
      const reply = await ingest(limited, limitedKey, e);
      if (reply.status === 202) acknowledged.push(e.eventId!);
      return reply;
    };
    expect((await send()).status).toBe(202);

    await whileDown(async () => {
      const refused = await eventually(async () => {
        const reply = await send();
        expect(reply.status).toBe(503);
        return reply;
      }, 20_000);
      expect(refused.headers['retry-after']).toBe('2');
      expect(refused.body).toMatchObject({ code: 'unavailable' });
    });

    await eventually(async () => expect((await send()).status).toBe(202), 20_000);
    const fresh = new Client({ connectionString: stack.env.DATABASE_URL });
    await fresh.connect();
    try {
      await eventually(async () => {
        const { rows } = await fresh.query<{ n: string }>(
          'SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1',
          [tenant],
        );
        expect(Number(rows[0].n)).toBe(acknowledged.length);
      }, 20_000);
    } finally {
      await fresh.end();
    }
    await stack.stop(limited);
  });
});
