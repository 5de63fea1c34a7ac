import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';

/** GET /metrics; the registry itself is infra's (MetricsRegistryModule). */
@Module({
  controllers: [MetricsController],
})
export class MetricsModule {}
