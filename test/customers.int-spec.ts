import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { createTenant, ensureCustomer, event, ingest, request } from './support/api';
import { ENCRYPTION_KEY, eventually, TestStack } from './support/harness';

describe('customers', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let tenantId: string;
  let admin: { headers: Record<string, string> };
  let reader: { headers: Record<string, string> };

  beforeAll(async () => {
    stack = await TestStack.create();
    app = await stack.start();
    const tenant = await createTenant(app);
    tenantId = tenant.tenantId;
    admin = { headers: { 'x-api-key': tenant.key } };
    const readKey = await request(app, 'POST', '/v1/api-keys', {
      ...admin,
      body: { name: 'dashboard', scopes: ['read'] },
    });
    reader = { headers: { 'x-api-key': readKey.body.key } };
  });

  afterAll(() => stack.dispose());

  const rawRow = async (externalId: string) =>
    (
      await stack.pg.query('SELECT * FROM customers WHERE tenant_id = $1 AND external_id = $2', [
        tenantId,
        externalId,
      ])
    ).rows[0];

  it('creates, reads and updates a customer; a second create is a 409', async () => {
    const created = await request(app, 'POST', '/v1/customers', {
      ...admin,
      body: { externalId: 'c-1', name: 'Ada', email: 'Ada@Example.com' },
    });
    expect(created).toMatchObject({
      status: 201,
      body: { externalId: 'c-1', name: 'Ada', email: 'Ada@Example.com', version: 1 },
    });
    const again = await request(app, 'POST', '/v1/customers', {
      ...admin,
      body: { externalId: 'c-1' },
    });
    expect(again).toMatchObject({ status: 409, body: { code: 'conflict' } });

    const patched = await request(app, 'PATCH', '/v1/customers/c-1', {
      ...admin,
      body: { name: 'Ada L.' },
    });
    expect(patched.body).toMatchObject({ name: 'Ada L.', email: 'Ada@Example.com', version: 2 });
    const cleared = await request(app, 'PATCH', '/v1/customers/c-1', {
      ...admin,
      body: { email: null },
    });
    expect(cleared.body).toMatchObject({ email: null, version: 3 });
    expect(await rawRow('c-1')).toMatchObject({
      email_encrypted: null,
      email_hash: null,
      email_key_id: null,
    });
    const got = await request(app, 'GET', '/v1/customers/c-1', admin);
    expect(got.body).toEqual(cleared.body);
  });

  it('stores the email only encrypted and hashed, and shows it to admin credentials only', async () => {
    await ensureCustomer(app, admin.headers['x-api-key'], 'c-mail', { email: 'grace@navy.mil' });
    const row = await rawRow('c-mail');
    expect(JSON.stringify(row)).not.toMatch(/grace|navy/i);
    expect((row.email_encrypted as Buffer).toString('latin1')).not.toMatch(/grace|navy/i);
    expect(row.email_key_id).toBe('k1');
    expect(row.email_hash).toMatch(/^[0-9a-f]{64}$/);
    // 12-byte nonce + ciphertext + 16-byte tag.
    expect((row.email_encrypted as Buffer).length).toBe(12 + 'grace@navy.mil'.length + 16);

    const asReader = await request(app, 'GET', '/v1/customers/c-mail', reader);
    expect(asReader.status).toBe(200);
    expect(asReader.body).not.toHaveProperty('email');
    const asAdmin = await request(app, 'GET', '/v1/customers/c-mail', admin);
    expect(asAdmin.body.email).toBe('grace@navy.mil');

    const byEmail = await request(app, 'GET', '/v1/customers?email=GRACE@navy.mil', admin);
    expect(byEmail.body.data.map((c: { externalId: string }) => c.externalId)).toEqual(['c-mail']);
    const refused = await request(app, 'GET', '/v1/customers?email=grace@navy.mil', reader);
    expect(refused).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    const writeAsReader = await request(app, 'PATCH', '/v1/customers/c-mail', {
      ...reader,
      body: { name: 'x' },
    });
    expect(writeAsReader.status).toBe(403);
  });

  it('pages through all customers by external id, including those events created', async () => {
    const now = new Date().toISOString();
    await ingest(app, admin.headers['x-api-key'], [
      event({ timestamp: now, customerId: 'from-events-1', apiEndpoint: '/a' }),
      event({ timestamp: now, customerId: 'from-events-2', apiEndpoint: '/a' }),
    ]);
    await eventually(async () => expect(await rawRow('from-events-2')).toBeDefined());
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/customers?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await request(app, 'GET', url, reader);
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((c: { externalId: string }) => c.externalId));
      cursor = page.body.nextCursor;
    } while (cursor);
    const { rows } = await stack.pg.query(
      'SELECT external_id FROM customers WHERE tenant_id = $1 ORDER BY external_id',
      [tenantId],
    );
    expect(seen).toEqual(rows.map((r) => r.external_id));
    expect(seen).toEqual(expect.arrayContaining(['from-events-1', 'from-events-2']));
  });

  it('refuses bad input and unknown customers with problem+json', async () => {
    const cases: [string, string, unknown, number][] = [
      ['POST', '/v1/customers', { externalId: '' }, 400],
      ['POST', '/v1/customers', { externalId: 'x', email: 'not-an-email' }, 400],
      ['POST', '/v1/customers', { externalId: 'x', extra: 1 }, 400],
      ['PATCH', '/v1/customers/c-1', {}, 400],
      ['PATCH', '/v1/customers/nobody', { name: 'x' }, 404],
    ];
    for (const [method, url, body, status] of cases) {
      const reply = await request(app, method as 'POST' | 'PATCH', url, { ...admin, body });
      expect({ url, body, status: reply.status, type: reply.headers['content-type'] }).toEqual({
        url,
        body,
        status,
        type: expect.stringMatching(/^application\/problem\+json/),
      });
    }
    expect((await request(app, 'GET', '/v1/customers/nobody', reader)).status).toBe(404);
    expect((await request(app, 'GET', '/v1/customers?cursor=zzz', reader)).status).toBe(400);
  });

  it('reads rows sealed under a previous key after rotation, and reseals on write', async () => {
    await ensureCustomer(app, admin.headers['x-api-key'], 'c-rotate', { email: 'old@key.example' });
    const rotated = await stack.start({
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ENCRYPTION_KEY_ID: 'k2',
      ENCRYPTION_PREVIOUS_KEYS: `k1:${ENCRYPTION_KEY}`,
    });
    const read = await request(rotated, 'GET', '/v1/customers/c-rotate', admin);
    expect(read.body.email).toBe('old@key.example');
    await request(rotated, 'PATCH', '/v1/customers/c-rotate', {
      ...admin,
      body: { email: 'new@key.example' },
    });
    expect((await rawRow('c-rotate')).email_key_id).toBe('k2');
    const found = await request(rotated, 'GET', '/v1/customers?email=new@key.example', admin);
    expect(found.body.data).toHaveLength(1);
    // The old instance lacks k2: it fails loudly rather than showing something wrong.
    const stale = await request(app, 'GET', '/v1/customers/c-rotate', admin);
    expect(stale).toMatchObject({ status: 500, body: { code: 'internal' } });
    await stack.stop(rotated);
  });
});
