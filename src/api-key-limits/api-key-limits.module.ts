import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from '../auth';
import { RateLimitsModule } from '../rate-limits';
import { ApiKeyBudget } from './api-key-budget';
import { ApiKeyRateLimitGuard } from './api-key-rate-limit.guard';
import { ApiKeyRateGate } from './api-key-rate-gate';

/**
 * Each API key's own rate limit, charged by a global guard (or, where a route says so, by
 * its handler through ApiKeyRateGate). AuthModule is imported so it is
 * scanned first: its AuthGuard must run before this guard reads the principal.
 */
@Module({
  imports: [AuthModule, RateLimitsModule],
  providers: [ApiKeyBudget, ApiKeyRateGate, { provide: APP_GUARD, useClass: ApiKeyRateLimitGuard }],
  exports: [ApiKeyBudget, ApiKeyRateGate],
})
export class ApiKeyLimitsModule {}
