import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { AccessTokens } from './access-tokens';
import { AdminAccess } from './admin-access';
import { ApiKeysController } from '../api-keys/api-keys.controller';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { AuthGuard } from './auth.guard';
import { AuthTokenController } from './auth-token.controller';
import { Authenticator } from './authenticator';
import { CustomersController } from '../customers/customers.controller';
import { CustomersRepository } from '../customers/customers.repository';
import { CustomersService } from '../customers/customers.service';
import { EmailCipher } from '../customers/email-cipher';
import { StreamTickets } from './stream-tickets';
import { KeyLookupBudget } from '../api-keys/key-lookup-budget';
import { TenantContext } from './tenant-context';
import { TenantContextGuard } from './tenant-context.guard';
import { TenantsController } from '../tenants/tenants.controller';
import { TenantsService } from '../tenants/tenants.service';

@Module({
  controllers: [TenantsController, ApiKeysController, AuthTokenController, CustomersController],
  providers: [
    ApiKeysService,
    AccessTokens,
    AdminAccess,
    Authenticator,
    StreamTickets,
    KeyLookupBudget,
    TenantsService,
    TenantContext,
    CustomersRepository,
    CustomersService,
    {
      provide: EmailCipher,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new EmailCipher(config.encryption, config.apiKeySecret),
    },
    // Global guards run in registration order: authentication, then its backstop.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: TenantContextGuard },
  ],
  exports: [TenantContext, TenantsService, CustomersService, Authenticator],
})
export class TenancyModule {}
