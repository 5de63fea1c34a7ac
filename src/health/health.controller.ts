import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { Public } from '../common/access/auth.decorators';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
import { RedisHealthIndicator } from './redis.health';

const checks = {
  type: 'object',
  description: 'By dependency: `postgres`, `redis`.',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { enum: ['up', 'degraded', 'down'] }, message: { type: 'string' } },
  },
};
const readinessSchema = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { enum: ['ok', 'degraded'] },
    info: checks,
    error: checks,
    details: checks,
  },
};

/** Each check's bound: readiness answers within it, whatever state a dependency is in. */
const CHECK_TIMEOUT_MS = 1000;

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly indicator: HealthIndicatorService,
  ) {}

  /** The process is up; says nothing of its dependencies (a restart would not fix them). */
  @Get('live')
  @Public()
  @Endpoint({
    id: 'getLiveness',
    summary: 'Liveness probe',
    description: 'The process is up. Says nothing of Postgres or Redis.',
    access: 'public',
  })
  @ApiOkResponse({
    schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } },
  })
  live() {
    return { status: 'ok' };
  }

  /**
   * Ready to take traffic: this instance can accept events, because Redis answers or
   * because it cannot be reached and the spool has room (200, `degraded` in the body).
   * Postgres is reported but never makes it unready: ingestion does not wait for it.
   */
  @Get('ready')
  @Public()
  @Endpoint({
    id: 'getReadiness',
    summary: 'Readiness probe',
    description:
      'Ready to take traffic: Redis answers, or is unreachable with room in the spool (200, ' +
      '`degraded`). Postgres is reported but never makes it unready. 503 names what is down.',
    access: 'public',
    problems: [503],
  })
  @ApiOkResponse({ schema: namedSchema('Readiness', readinessSchema) })
  // Terminus would document its own 503 body; ours is a problem (ProblemResponses).
  @HealthCheck({ swaggerDocumentation: false })
  async ready() {
    try {
      return await this.health.check([
        () => this.postgres(),
        () => this.redis.check(CHECK_TIMEOUT_MS),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // The problem body (the one error format) names what is down and why.
      const { error: down = {} } = error.getResponse() as HealthCheckResult;
      const reasons = Object.entries(down).map(([key, info]) => `${key}: ${info?.message}`);
      throw new DomainError(ErrorCode.Unavailable, `Not ready: ${reasons.join('; ')}.`, {
        retryAfterSeconds: 1,
      });
    }
  }

  private async postgres() {
    const result = await this.db.pingCheck('postgres', { timeout: CHECK_TIMEOUT_MS });
    const { status, ...details } = result.postgres;
    return status === 'down' ? this.indicator.check('postgres').degraded(details) : result;
  }
}
