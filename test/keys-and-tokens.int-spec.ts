import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { base64url, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createTenant, type Reply, request } from './support/api';
import { ADMIN_TOKEN, eventually, JWT_SECRET, TestStack } from './support/harness';

const CACHE_SECONDS = 1;

describe('API keys, tokens and tenant state', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let other: NestFastifyApplication;

  beforeAll(async () => {
    stack = await TestStack.create({
      API_KEY_CACHE_SECONDS: String(CACHE_SECONDS),
      JWT_TTL_SECONDS: '120',
    });
    [app, other] = [await stack.start(), await stack.start()];
  });

  afterAll(() => stack.dispose());

  const asKey = (key: string) => ({ headers: { 'x-api-key': key } });
  const asBearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const admin = { headers: { 'x-admin-token': ADMIN_TOKEN } };
  const windows = (target: NestFastifyApplication, options: { headers: Record<string, string> }) =>
    request(target, 'GET', '/v1/windows', options);
  /** No body, so no JSON content type (Fastify refuses an empty JSON body). */
  const bodiless = async (
    target: NestFastifyApplication,
    method: 'POST' | 'DELETE',
    url: string,
    headers: Record<string, string>,
  ): Promise<Reply> => {
    const response = await target.inject({ method, url, headers });
    return {
      status: response.statusCode,
      headers: response.headers,
      body: response.body ? JSON.parse(response.body) : undefined,
    };
  };
  const tokenFor = async (key: string, target = app): Promise<string> => {
    const reply = await bodiless(target, 'POST', '/v1/auth/token', { 'x-api-key': key });
    expect(reply.status).toBe(200);
    return reply.body.accessToken as string;
  };
  const newKey = async (key: string, scopes: string[], name = 'k') => {
    const reply = await request(app, 'POST', '/v1/api-keys', {
      ...asKey(key),
      body: { name, scopes },
    });
    expect(reply.status).toBe(201);
    return reply.body as { id: string; key: string; prefix: string };
  };

  function expectProblem(reply: Reply, status: number, detail?: RegExp): void {
    expect({ status: reply.status, type: reply.headers['content-type'] }).toEqual({
      status,
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(reply.body).toMatchObject({
      status,
      type: expect.any(String),
      title: expect.any(String),
    });
    if (detail) expect(reply.body.detail).toMatch(detail);
  }

  it('exchanges a key for a short-lived HS256 token that works on every tenant route', async () => {
    const { tenantId, key } = await createTenant(app);
    const reply = await bodiless(app, 'POST', '/v1/auth/token', { 'x-api-key': key });
    expect(reply).toMatchObject({ status: 200, body: { tokenType: 'Bearer', expiresIn: 120 } });
    const token = reply.body.accessToken as string;
    const [header] = token.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'HS256' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ tid: tenantId, scp: ['ingest', 'read', 'admin'] });
    expect(claims.exp! - claims.iat!).toBe(120);
    expect((await windows(other, asBearer(token))).status).toBe(200);
    // A token cannot mint tokens: its lifetime would never end.
    expectProblem(await bodiless(app, 'POST', '/v1/auth/token', asBearer(token).headers), 401);
  });

  it('answers 401 problem+json for missing, malformed and doubled credentials', async () => {
    const { key } = await createTenant(app);
    expectProblem(await windows(app, { headers: {} }), 401, /X-API-Key header or an Authorization/);
    expectProblem(await windows(app, { headers: { authorization: `Basic ${key}` } }), 401);
    expectProblem(await windows(app, asKey('tly_00000000_' + 'A'.repeat(43))), 401, /unknown/);
    expectProblem(
      await windows(app, { headers: { 'x-api-key': key, authorization: 'Bearer x' } }),
      400,
    );
  });

  it('refuses expired, tampered, unsigned and wrongly signed tokens with 401', async () => {
    const { tenantId, key } = await createTenant(app);
    const victim = await createTenant(app, 'victim');
    const good = await tokenFor(key);
    const { sub } = decodeJwt(good);
    const secret = new TextEncoder().encode(JWT_SECRET);
    const claims = { tid: tenantId, scp: ['read'] };
    const signed = (alg: string, build = (jwt: SignJWT) => jwt) =>
      build(
        new SignJWT(claims)
          .setProtectedHeader({ alg })
          .setSubject(sub!)
          .setIssuer('tally')
          .setAudience('tally-api')
          .setIssuedAt(),
      );

    const expired = await signed('HS256', (jwt) =>
      jwt.setIssuedAt(Math.floor(Date.now() / 1000) - 600).setExpirationTime('-5m'),
    ).sign(secret);
    expectProblem(await windows(app, asBearer(expired)), 401, /expired/);

    const [h, , s] = good.split('.');
    const payload = { ...decodeJwt(good), tid: victim.tenantId };
    const tampered = `${h}.${base64url.encode(JSON.stringify(payload))}.${s}`;
    expectProblem(await windows(app, asBearer(tampered)), 401, /not valid/);

    const unsigned = `${base64url.encode('{"alg":"none","typ":"JWT"}')}.${good.split('.')[1]}.`;
    expectProblem(await windows(app, asBearer(unsigned)), 401, /not valid/);

    const hs512 = await signed('HS512', (jwt) => jwt.setExpirationTime('5m')).sign(secret);
    expectProblem(await windows(app, asBearer(hs512)), 401, /not valid/);

    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const rs256 = await signed('RS256', (jwt) => jwt.setExpirationTime('5m')).sign(privateKey);
    expectProblem(await windows(app, asBearer(rs256)), 401, /not valid/);
    // The classic confusion: HS256 keyed with the public key, which a server might trust.
    const confused = await signed('HS256', (jwt) => jwt.setExpirationTime('5m')).sign(
      new TextEncoder().encode(JSON.stringify(await exportJWK(publicKey))),
    );
    expectProblem(await windows(app, asBearer(confused)), 401, /not valid/);

    const foreignIssuer = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub!)
      .setIssuer('someone-else')
      .setAudience('tally-api')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret);
    expectProblem(await windows(app, asBearer(foreignIssuer)), 401);
    expect((await windows(app, asBearer(good))).status).toBe(200);
  });

  it('enforces scopes per route for keys and tokens alike: 403 problem+json', async () => {
    const { key } = await createTenant(app);
    const reader = await newKey(key, ['read']);
    const body = { customerId: 'c', metric: 'calls', units: 1 };
    expectProblem(
      await request(app, 'POST', '/v1/quotas/consume', { ...asKey(reader.key), body }),
      403,
      /lacks the 'ingest' scope/,
    );
    const token = await tokenFor(reader.key);
    expect(decodeJwt(token).scp).toEqual(['read']);
    expectProblem(await request(app, 'GET', '/v1/api-keys', asBearer(token)), 403);
    expect((await windows(app, asBearer(token))).status).toBe(200);
  });

  it('lists keys without secrets, records their use, and shows a new key once', async () => {
    const { key } = await createTenant(app);
    const created = await newKey(key, ['ingest', 'read'], 'gateway');
    expect(created.key).toMatch(new RegExp(`^tly_${created.prefix}_[A-Za-z0-9_-]{43}$`));
    expect((await windows(app, asKey(created.key))).status).toBe(200);
    await eventually(async () => {
      const list = await request(app, 'GET', '/v1/api-keys', asKey(key));
      expect(list.status).toBe(200);
      const row = list.body.data.find((k: { id: string }) => k.id === created.id);
      expect(row).toEqual({
        id: created.id,
        name: 'gateway',
        prefix: created.prefix,
        scopes: ['ingest', 'read'],
        rateLimits: {},
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
        revokedAt: null,
      });
      expect(JSON.stringify(list.body)).not.toContain(created.key.slice(13));
    }, 3000);
    const { rows } = await stack.pg.query('SELECT * FROM api_keys WHERE id = $1', [created.id]);
    expect(JSON.stringify(rows[0])).not.toContain(created.key.slice(13));
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    // last_used_at is written at most once a minute per key, however busy the key.
    const before = rows[0].last_used_at as Date;
    for (let i = 0; i < 5; i++) await windows(app, asKey(created.key));
    const after = await stack.pg.query('SELECT last_used_at FROM api_keys WHERE id = $1', [
      created.id,
    ]);
    expect(after.rows[0].last_used_at).toEqual(before);
  });

  it('refuses a revoked key and its tokens: at once here, within the cache time elsewhere', async () => {
    const { key } = await createTenant(app);
    const doomed = await newKey(key, ['read']);
    const token = await tokenFor(doomed.key);
    expect((await windows(other, asKey(doomed.key))).status).toBe(200);
    expect((await windows(other, asBearer(token))).status).toBe(200);

    const revoked = await bodiless(app, 'DELETE', `/v1/api-keys/${doomed.id}`, asKey(key).headers);
    expect(revoked.status).toBe(204);
    const at = Date.now();
    expectProblem(await windows(app, asKey(doomed.key)), 401, /revoked/);
    expectProblem(await windows(app, asBearer(token)), 401, /revoked/);
    await eventually(async () => {
      expectProblem(await windows(other, asKey(doomed.key)), 401);
      expectProblem(await windows(other, asBearer(token)), 401);
    });
    expect(Date.now() - at).toBeLessThan(CACHE_SECONDS * 1000 + 1000);

    // Idempotent, and the list says when.
    expect(
      (await bodiless(app, 'DELETE', `/v1/api-keys/${doomed.id}`, asKey(key).headers)).status,
    ).toBe(204);
    const list = await request(app, 'GET', '/v1/api-keys', asKey(key));
    expect(list.body.data.find((k: { id: string }) => k.id === doomed.id).revokedAt).toEqual(
      expect.any(String),
    );
    expectProblem(
      await bodiless(app, 'DELETE', '/v1/api-keys/not-a-uuid', asKey(key).headers),
      404,
    );
  });

  it('refuses a deactivated tenant with 403 on every instance, and lets it back in', async () => {
    const { tenantId, key } = await createTenant(app);
    const token = await tokenFor(key);
    expect((await windows(other, asKey(key))).status).toBe(200);
    expect((await windows(other, asBearer(token))).status).toBe(200);

    const off = await request(app, 'PATCH', `/v1/tenants/${tenantId}`, {
      ...admin,
      body: { active: false },
    });
    expect(off).toMatchObject({ status: 200, body: { id: tenantId, active: false, version: 2 } });
    const at = Date.now();
    expectProblem(await windows(app, asKey(key)), 403, /deactivated/);
    expectProblem(await windows(app, asBearer(token)), 403, /deactivated/);
    expectProblem(await bodiless(app, 'POST', '/v1/auth/token', asKey(key).headers), 403);
    await eventually(async () => {
      expectProblem(await windows(other, asKey(key)), 403);
      expectProblem(await windows(other, asBearer(token)), 403);
    });
    expect(Date.now() - at).toBeLessThan(CACHE_SECONDS * 1000 + 1000);

    await request(app, 'PATCH', `/v1/tenants/${tenantId}`, { ...admin, body: { active: true } });
    await eventually(async () => expect((await windows(other, asBearer(token))).status).toBe(200));
  });

  it('lets the operator read, list and rename tenants, and nobody else', async () => {
    const first = await createTenant(app, 'first');
    const second = await createTenant(app, 'second');
    const got = await request(app, 'GET', `/v1/tenants/${first.tenantId}`, admin);
    expect(got.body).toMatchObject({ id: first.tenantId, name: 'first', active: true });
    const renamed = await request(app, 'PATCH', `/v1/tenants/${second.tenantId}`, {
      ...admin,
      body: { name: '  second, renamed ' },
    });
    expect(renamed.body).toMatchObject({ name: 'second, renamed', version: 2 });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Reply = await request(
        app,
        'GET',
        `/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        admin,
      );
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((t: { id: string }) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const { rows } = await stack.pg.query('SELECT id FROM tenants ORDER BY created_at, id');
    expect(seen).toEqual(rows.map((r) => r.id));

    expectProblem(await request(app, 'GET', '/v1/tenants/not-a-uuid', admin), 404);
    expectProblem(
      await request(app, 'GET', '/v1/tenants/00000000-0000-4000-8000-000000000000', admin),
      404,
    );
    expectProblem(
      await request(app, 'PATCH', `/v1/tenants/${first.tenantId}`, { ...admin, body: {} }),
      400,
    );
    expectProblem(await request(app, 'GET', '/v1/tenants?cursor=abc', admin), 400);
    expectProblem(await request(app, 'GET', '/v1/tenants', asKey(first.key)), 401);
  });

  it('takes operator calls only from ADMIN_ALLOWED_IPS when it is set', async () => {
    const guarded = await stack.start({ ADMIN_ALLOWED_IPS: '10.0.0.0/8, ::1' });
    const from = async (remoteAddress: string) =>
      (
        await guarded.inject({
          method: 'GET',
          url: '/v1/tenants?limit=1',
          headers: admin.headers,
          remoteAddress,
        })
      ).statusCode;
    expect(await from('127.0.0.1')).toBe(403);
    expect(await from('10.20.30.40')).toBe(200);
    expect(await from('::ffff:10.1.1.1')).toBe(200);
    expect(await from('::1')).toBe(200);
    await stack.stop(guarded);
  });
});
