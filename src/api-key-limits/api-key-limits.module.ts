import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from '../auth';
import { RateLimitsModule } from '../rate-limits';
import { ApiKeyBudget } from './api-key-budget';
import { ApiKeyRateLimitGuard } from './api-key-rate-limit.guard';

/**
 * Each API key's own rate limit, charged by a global guard. AuthModule is imported so it is
 * scanned first: its AuthGuard must run before this guard reads the principal.
 */
@Module({
  imports: [AuthModule, RateLimitsModule],
  providers: [ApiKeyBudget, { provide: APP_GUARD, useClass: ApiKeyRateLimitGuard }],
  exports: [ApiKeyBudget],
})
export class ApiKeyLimitsModule {}
