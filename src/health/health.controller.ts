import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../tenancy/auth.decorators';
import { RedisHealthIndicator } from './redis.health';

/** Each check's bound: readiness answers within it, whatever state a dependency is in. */
const CHECK_TIMEOUT_MS = 1000;

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /** The process is up; says nothing of its dependencies (a restart would not fix them). */
  @Get('live')
  @Public()
  live() {
    return { status: 'ok' };
  }

  /** Ready to take traffic: Postgres and Redis answer, each within 1 s. 503 otherwise. */
  @Get('ready')
  @Public()
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.db.pingCheck('postgres', { timeout: CHECK_TIMEOUT_MS }),
      () => this.redis.check('redis', CHECK_TIMEOUT_MS),
    ]);
  }
}
