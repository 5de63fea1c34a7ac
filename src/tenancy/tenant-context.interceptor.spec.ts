import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ClsService } from 'nestjs-cls';
import { AsyncLocalStorage } from 'node:async_hooks';
import { lastValueFrom, of } from 'rxjs';
import { AdminOnly, Public, RequireApiKey, RequireScope } from './auth.decorators';
import { TenantContext } from './tenant-context';
import { TenantContextInterceptor } from './tenant-context.interceptor';

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

describe('TenantContextInterceptor', () => {
  const cls = new ClsService(new AsyncLocalStorage());
  const context = new TenantContext(cls);
  const interceptor = new TenantContextInterceptor(new Reflector(), context);
  const next: CallHandler = { handle: () => of('ran') };

  it.each(['read', 'token'] as const)(
    'refuses to run the tenant route %s without a principal',
    async (handler) => {
      await cls.run(async () => {
        expect(() => interceptor.intercept(contextOf(handler), next)).toThrow(
          /reached without a principal/,
        );
      });
    },
  );

  it('runs a tenant route once the guard has set the principal', async () => {
    await cls.run(async () => {
      context.set({
        tenantId: '6f1c3f0e-7a41-4d7e-9a43-5d7a8e2b9c10',
        keyId: 'k',
        scopes: ['read'],
        rateLimits: {},
      });
      await expect(lastValueFrom(interceptor.intercept(contextOf('read'), next))).resolves.toBe(
        'ran',
      );
    });
  });

  it.each(['probe', 'operator'] as const)(
    'lets the non-tenant route %s through',
    async (handler) => {
      await expect(lastValueFrom(interceptor.intercept(contextOf(handler), next))).resolves.toBe(
        'ran',
      );
    },
  );
});
