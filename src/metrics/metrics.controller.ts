import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/access/auth.decorators';
import { Endpoint } from '../common/openapi/endpoint';
import { Metrics } from '../infra/metrics/metrics';

@ApiTags('health')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Public()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Endpoint({
    id: 'getMetrics',
    summary: 'Prometheus metrics',
    description: "The instance's metrics in Prometheus text exposition (docs/operations.md).",
    access: 'public',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
