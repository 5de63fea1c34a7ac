import { Module } from '@nestjs/common';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { KeyLookupBudget } from './key-lookup-budget';

/** A tenant's API keys: issue, list, revoke, and the lookup that authenticates a key. */
@Module({
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, KeyLookupBudget],
  exports: [ApiKeysService],
})
export class ApiKeysModule {}
