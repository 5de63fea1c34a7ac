import { asyncLocalStorage } from '@fastify/request-context';
import { DomainError } from '../errors/domain-error';
import { TenantContext } from './tenant-context';

describe('TenantContext', () => {
  const context = new TenantContext();
  // What @fastify/request-context opens for each request: a fresh store.
  const inRequest = (fn: () => void) => asyncLocalStorage.run({} as never, fn);

  it('refuses to answer outside a request: no tenant never means all tenants', () => {
    expect(() => context.tenantId()).toThrow(DomainError);
  });

  it('refuses inside a request that was never authenticated', () => {
    inRequest(() => expect(() => context.tenantId()).toThrow('No tenant'));
  });

  it('gives the principal set for this request only', () => {
    inRequest(() => {
      context.set({ tenantId: 't-1', keyId: 'k', scopes: ['read'], rateLimits: {} });
      expect(context.tenantId()).toBe('t-1');
    });
    expect(() => context.tenantId()).toThrow(DomainError);
    inRequest(() => expect(() => context.tenantId()).toThrow('No tenant'));
  });
});
