import { asyncLocalStorage } from '@fastify/request-context';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AdminOnly, Public, RequireApiKey, RequireScope } from './auth.decorators';
import { TenantContext } from './tenant-context';
import { TenantContextGuard } from './tenant-context.guard';

class Routes {
  @RequireScope('read')
  read() {}

  @RequireApiKey()
  token() {}

  @Public()
  probe() {}

  @AdminOnly()
  operator() {}
}

const contextOf = (handler: keyof Routes) =>
  ({
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
  }) as unknown as ExecutionContext;

describe('TenantContextGuard', () => {
  const context = new TenantContext();
  const inRequest = (fn: () => void) => asyncLocalStorage.run({} as never, fn);
  const guard = new TenantContextGuard(new Reflector(), context);

  it.each(['read', 'token'] as const)(
    'refuses to run the tenant route %s without a principal',
    (handler) => {
      inRequest(() => {
        expect(() => guard.canActivate(contextOf(handler))).toThrow(/reached without a principal/);
      });
    },
  );

  it('runs a tenant route once the guard has set the principal', () => {
    inRequest(() => {
      context.set({
        tenantId: '6f1c3f0e-7a41-4d7e-9a43-5d7a8e2b9c10',
        keyId: 'k',
        scopes: ['read'],
        rateLimits: {},
      });
      expect(guard.canActivate(contextOf('read'))).toBe(true);
    });
  });

  it.each(['probe', 'operator'] as const)('lets the non-tenant route %s through', (handler) => {
    expect(guard.canActivate(contextOf(handler))).toBe(true);
  });
});
