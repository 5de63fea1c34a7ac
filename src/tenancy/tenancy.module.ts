import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeysService } from './api-keys.service';
import { AuthGuard } from './auth.guard';
import { TenantContext } from './tenant-context';
import { TenantsController } from './tenants.controller';
import { TenantsService } from './tenants.service';

@Module({
  controllers: [TenantsController],
  providers: [
    ApiKeysService,
    TenantsService,
    TenantContext,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TenantContext, TenantsService],
})
export class TenancyModule {}
