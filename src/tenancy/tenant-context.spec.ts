import { AsyncLocalStorage } from 'node:async_hooks';
import { ClsService } from 'nestjs-cls';
import { DomainError } from '../common/errors/domain-error';
import { TenantContext } from './tenant-context';

describe('TenantContext', () => {
  const cls = new ClsService(new AsyncLocalStorage());
  const context = new TenantContext(cls);

  it('refuses to answer outside a request: no tenant never means all tenants', () => {
    expect(() => context.tenantId()).toThrow(DomainError);
  });

  it('refuses inside a request that was never authenticated', async () => {
    await cls.run(async () => expect(() => context.tenantId()).toThrow('No tenant'));
  });

  it('gives the principal set for this request only', async () => {
    await cls.run(async () => {
      context.set({ tenantId: 't-1', keyId: 'k', scopes: ['read'], rateLimits: {} });
      expect(context.tenantId()).toBe('t-1');
    });
    expect(() => context.tenantId()).toThrow(DomainError);
  });
});
