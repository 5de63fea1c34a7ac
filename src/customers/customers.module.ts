import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { CustomersController } from './customers.controller';
import { CustomersRepository } from './customers.repository';
import { CustomersService } from './customers.service';
import { EmailCipher } from './email-cipher';

/** A tenant's customers, their e-mail addresses encrypted at rest. */
@Module({
  controllers: [CustomersController],
  providers: [
    CustomersRepository,
    CustomersService,
    {
      provide: EmailCipher,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new EmailCipher(config.encryption, config.apiKeySecret),
    },
  ],
  exports: [CustomersService],
})
export class CustomersModule {}
