import { Module } from '@nestjs/common';
import { ApiKeyLimitsModule } from '../api-key-limits';
import { AuthModule } from '../auth';
import { CustomersModule } from '../customers';
import { RateLimitsModule } from '../rate-limits';
import { DefinitionChanges } from './definition-changes';
import { QuotaDefinitions } from './quota-definitions';
import { QuotaDefinitionsController } from './quota-definitions.controller';
import { QuotaUsageController } from './quota-usage.controller';
import { QuotaRepository } from './quota.repository';
import { QuotaService } from './quota.service';

/** A tenant's quota definitions per customer, their usage, and the consume endpoint. */
@Module({
  imports: [AuthModule, CustomersModule, RateLimitsModule, ApiKeyLimitsModule],
  controllers: [QuotaDefinitionsController, QuotaUsageController],
  providers: [QuotaRepository, DefinitionChanges, QuotaDefinitions, QuotaService],
})
export class QuotasModule {}
