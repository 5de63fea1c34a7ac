import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import createClient from 'openapi-fetch';
import type { components, paths } from '../openapi/tally-api';
import { ADMIN_TOKEN, TestStack } from './support/harness';

type Schemas = components['schemas'];

/**
 * A client generated from the committed document (openapi-typescript + openapi-fetch)
 * against a listening instance on real Postgres and Redis. A route whose shape drifts from
 * the document breaks this twice: `npm run typecheck` on the generated types, and here,
 * where every answer is validated against the document's named schema.
 */
describe('the typed client generated from openapi/openapi.json', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let baseUrl: string;
  const document = JSON.parse(
    readFileSync(join(__dirname, '..', 'openapi', 'openapi.json'), 'utf8'),
  ) as { components: { schemas: Record<string, object> } };
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(document.components.schemas)) {
    ajv.addSchema(schema, `#/components/schemas/${name}`);
  }
  const conforms = (name: keyof Schemas, value: unknown) => {
    const validate = ajv.getSchema(`#/components/schemas/${name}`)!;
    expect({ name, valid: validate(value), errors: validate.errors ?? null }).toEqual({
      name,
      valid: true,
      errors: null,
    });
  };

  beforeAll(async () => {
    stack = await TestStack.create();
    app = await stack.start();
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(() => stack.dispose());

  it('creates a tenant and a customer, ingests, reads, and consumes a quota', async () => {
    const admin = createClient<paths>({ baseUrl, headers: { 'X-Admin-Token': ADMIN_TOKEN } });
    const created = await admin.POST('/v1/tenants', { body: { name: 'typed' } });
    expect(created.response.status).toBe(201);
    conforms('CreatedTenant', created.data);
    const key = created.data!.apiKey!.key!;

    const api = createClient<paths>({ baseUrl, headers: { 'X-API-Key': key } });
    const made = await api.POST('/v1/customers', {
      body: { externalId: 'typed-c', name: 'Typed Co' },
    });
    expect(made.response.status).toBe(201);
    conforms('Customer', made.data);
    const events: Schemas['UsageEvent'][] = [
      {
        eventId: randomUUID(),
        timestamp: new Date().toISOString(),
        customerId: 'typed-c',
        apiEndpoint: '/v1/chat',
        metadata: { inputTokens: 3, outputTokens: 4 },
      },
    ];
    const ingested = await api.POST('/v1/events', { body: events });
    expect(ingested.response.status).toBe(202);
    expect(ingested.response.headers.get('x-request-id')).toMatch(/\S/);
    conforms('IngestResult', ingested.data);
    expect(ingested.data).toEqual({ accepted: 1, duplicates: 0 });

    const customer = await api.GET('/v1/customers/{externalId}', {
      params: { path: { externalId: 'typed-c' } },
    });
    expect(customer.response.status).toBe(200);
    conforms('Customer', customer.data);
    expect(customer.data).toMatchObject({ externalId: 'typed-c', name: 'Typed Co' });

    const windows = await api.GET('/v1/windows', { params: { query: { customerId: 'typed-c' } } });
    expect(windows.response.status).toBe(200);
    conforms('WindowPage', windows.data);

    const quota = await api.PUT('/v1/quotas/defaults/{metric}', {
      params: { path: { metric: 'calls' } },
      body: { limit: 5, period: '1h', algorithm: 'fixed' },
    });
    expect(quota.response.status).toBe(200);
    conforms('QuotaDefinition', quota.data);

    const consumed = await api.POST('/v1/quotas/consume', {
      body: { customerId: 'typed-c', metric: 'calls', units: 2 },
    });
    expect(consumed.response.status).toBe(200);
    conforms('ConsumeResult', consumed.data);
    expect(consumed.data).toMatchObject({ allowed: true, limit: 5, remaining: 3 });
    expect(consumed.response.headers.get('ratelimit')).toMatch(/^"calls:3600s";r=3;t=\d+$/);

    const refused = await api.POST('/v1/quotas/consume', {
      body: { customerId: 'typed-c', metric: 'calls', units: 4 },
    });
    expect(refused.response.status).toBe(429);
    conforms('QuotaExceeded', refused.error);
    expect(refused.response.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('answers errors as the documented problem', async () => {
    const anonymous = createClient<paths>({ baseUrl });
    const refused = await anonymous.GET('/v1/windows');
    expect(refused.response.status).toBe(401);
    conforms('Problem', refused.error);
    expect(refused.error?.status).toBe(401);
  });
});
