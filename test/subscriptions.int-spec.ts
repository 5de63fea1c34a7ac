import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Redis } from 'ioredis';
import { UsageVersions } from '../src/analytics/usage-versions';
import { DefinitionChanges } from '../src/quotas/definition-changes';
import { ANALYTICS_VERSIONS_REDIS, QUOTA_CHANGES_REDIS } from '../src/infra/redis/redis.tokens';
import { createTenant, ensureCustomer, request } from './support/api';
import { dropTwice } from './support/drop-twice';
import { eventually, TestStack } from './support/harness';

describe('Pub/Sub connections whose reconnect drops before its SUBSCRIBE is answered', () => {
  let stack: TestStack;
  let here: NestFastifyApplication;
  let elsewhere: NestFastifyApplication;
  let tenant: { tenantId: string; key: string };

  beforeAll(async () => {
    // A cache far longer than the test: only the announcement can explain a fresh read.
    stack = await TestStack.create({ QUOTA_CACHE_SECONDS: '300' });
    [here, elsewhere] = [await stack.start(), await stack.start()];
    tenant = await createTenant(elsewhere);
    await ensureCustomer(elsewhere, tenant.key, 'c-1');
  });

  afterAll(() => stack.dispose());

  const as = () => ({ headers: { 'x-api-key': tenant.key } });
  const setLimit = (limit: number) =>
    request(elsewhere, 'PUT', '/v1/customers/c-1/quotas/calls', {
      ...as(),
      body: { limit, period: '1h', algorithm: 'fixed' },
    });
  const limitHere = async () =>
    (
      await request(here, 'POST', '/v1/quotas/consume', {
        ...as(),
        body: { customerId: 'c-1', metric: 'calls', units: 1 },
      })
    ).body.limit as number;

  it('quota definitions: a change made on another instance still applies here at once', async () => {
    const heard: (string | null)[] = [];
    here.get(DefinitionChanges).onChange((tenantId) => heard.push(tenantId));
    expect((await setLimit(1000)).status).toBe(200);
    await dropTwice(here.get<Redis>(QUOTA_CHANGES_REDIS));
    // A reconnect drops every snapshot; read once after that, the limit is kept for 300 s.
    await eventually(async () => expect(heard).toContain(null));
    expect(await limitHere()).toBe(1000);
    expect((await setLimit(2000)).status).toBe(200);
    await eventually(async () => expect(await limitHere()).toBe(2000));
  });

  it('analytics versions: a flush on another instance still reaches this one', async () => {
    const heard: (string | null)[] = [];
    here.get(UsageVersions).onChange((tenantId) => heard.push(tenantId));
    await dropTwice(here.get<Redis>(ANALYTICS_VERSIONS_REDIS));
    await elsewhere.get(UsageVersions).bump(new Map([[tenant.tenantId, new Set([20_000])]]));
    await eventually(async () => expect(heard).toContain(tenant.tenantId));
  });
});
