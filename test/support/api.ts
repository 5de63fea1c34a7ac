import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN } from './harness';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: any;
}

/** Sends a request through Fastify's inject: the whole HTTP stack without a socket. */
export async function request(
  app: NestFastifyApplication,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  options: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<Reply> {
  const response = await app.inject({
    method,
    url,
    headers: { 'content-type': 'application/json', ...options.headers },
    payload:
      options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = response.body;
  return {
    status: response.statusCode,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}

export async function createTenant(app: NestFastifyApplication, name = 'acme') {
  const reply = await request(app, 'POST', '/v1/tenants', {
    headers: { 'x-admin-token': ADMIN_TOKEN },
    body: { name },
  });
  if (reply.status !== 201)
    throw new Error(`tenant creation failed: ${JSON.stringify(reply.body)}`);
  return { tenantId: reply.body.tenant.id as string, key: reply.body.apiKey.key as string };
}

/** Issues a key with an admin key and returns its plaintext; throws if refused. */
export async function createKey(
  app: NestFastifyApplication,
  adminKey: string,
  scopes: string[],
  rateLimits: object = {},
) {
  const reply = await request(app, 'POST', '/v1/api-keys', {
    headers: { 'x-api-key': adminKey },
    body: { name: scopes.join('+'), scopes, rateLimits },
  });
  if (reply.status !== 201) throw new Error(`key creation failed: ${JSON.stringify(reply.body)}`);
  return reply.body.key as string;
}

export interface EventInput {
  eventId?: string;
  timestamp: string;
  customerId: string;
  apiEndpoint: string;
  metadata?: Record<string, unknown>;
  tenantId?: string;
}

export function event(input: Omit<EventInput, 'eventId'> & { eventId?: string }): EventInput {
  return { eventId: input.eventId ?? randomUUID(), ...input };
}

export function ingest(app: NestFastifyApplication, key: string, body: unknown) {
  return request(app, 'POST', '/v1/events', { headers: { 'x-api-key': key }, body });
}

/** Creates the customer with an admin key; one that exists already is fine. */
export async function ensureCustomer(
  app: NestFastifyApplication,
  key: string,
  externalId: string,
  fields: { name?: string; email?: string } = {},
): Promise<Reply> {
  const reply = await request(app, 'POST', '/v1/customers', {
    headers: { 'x-api-key': key },
    body: { externalId, ...fields },
  });
  if (reply.status !== 201 && reply.status !== 409) {
    throw new Error(`customer creation failed: ${JSON.stringify(reply.body)}`);
  }
  return reply;
}
