import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeysModule } from '../api-keys';
import { AccessTokens } from './access-tokens';
import { AdminAccess } from './admin-access';
import { AuthGuard } from './auth.guard';
import { AuthTokenController } from './auth-token.controller';
import { Authenticator } from './authenticator';
import { StreamTickets } from './stream-tickets';
import { TenantContext } from '../common/access/tenant-context';
import { TenantContextGuard } from '../common/access/tenant-context.guard';

/**
 * Who is calling: API keys, access tokens, stream tickets and the admin key, checked by
 * the global guards, and the request's tenant (TenantContext). Global: every feature's
 * controllers read the tenant, and the API-key module this one depends on does too.
 */
@Global()
@Module({
  imports: [ApiKeysModule],
  controllers: [AuthTokenController],
  providers: [
    AccessTokens,
    AdminAccess,
    Authenticator,
    StreamTickets,
    TenantContext,
    // Global guards run in registration order: authentication, then its backstop.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: TenantContextGuard },
  ],
  exports: [TenantContext, Authenticator],
})
export class AuthModule {}
