import { DynamicModule, Global, Module } from '@nestjs/common';
import { CLOCK, systemClock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from './app-config';

/** What every module may read: the configuration, and the clock (replaceable in tests). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: CLOCK, useValue: systemClock },
      ],
      exports: [APP_CONFIG, CLOCK],
    };
  }
}
