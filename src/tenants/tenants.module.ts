import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys';
import { TenantsController } from './tenants.controller';
import { TenantsRepository } from './tenants.repository';
import { TenantsService } from './tenants.service';

/** Tenants, created by the admin with their first API key. */
@Module({
  imports: [ApiKeysModule],
  controllers: [TenantsController],
  providers: [TenantsRepository, TenantsService],
})
export class TenantsModule {}
