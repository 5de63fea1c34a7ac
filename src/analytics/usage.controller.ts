import { Controller, Get, Query, Req, Res, StreamableFile, Inject } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { ApiOkResponse, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
import { validateQuery } from '../common/validation/validate-body';
import { RequireScope } from '../common/access/auth.decorators';
import { TenantContext } from '../common/access/tenant-context';
import { AnalyticsService, type UsageParams } from './analytics.service';
import type { DailyParams, TopParams } from './hot-queries';
import { conditionalJson, notModified } from './http-caching';
import { usageCsv } from './usage-csv';
import {
  dailyAnswerSchema,
  dailyQuerySchema,
  liveAnswerSchema,
  liveQuerySchema,
  topAnswerSchema,
  topQuerySchema,
  usageAnswerSchema,
  usageQuerySchema,
} from './usage.schemas';

const validateUsage = validateQuery<UsageParams>(usageQuerySchema);
const validateDaily = validateQuery<DailyParams>(dailyQuerySchema);
const validateTop = validateQuery<TopParams>(topQuerySchema);
const validateLive = validateQuery<{ customerId?: string }>(liveQuerySchema);

const CACHING =
  'Answers carry `Cache-Control: private, no-cache` and a weak ETag (the answer without `asOf`); ' +
  'send it back in `If-None-Match` for a 304 when nothing changed.';

/** Repeatable parameters arrive as a string once and an array when repeated; groupBy may also be comma-separated. */
function lists(query: unknown): unknown {
  if (!query || typeof query !== 'object') return query;
  const copy: Record<string, unknown> = { ...query };
  for (const name of ['groupBy', 'customerId', 'endpoint', 'model']) {
    const value = copy[name];
    if (typeof value === 'string') copy[name] = name === 'groupBy' ? value.split(',') : [value];
  }
  return copy;
}

const usageQueries = () =>
  [
    ApiQuery({
      name: 'from',
      required: false,
      description: 'ISO time; rounded down to its bucket',
    }),
    ApiQuery({ name: 'to', required: false, description: 'ISO time, exclusive; default now' }),
    ApiQuery({ name: 'granularity', required: false, enum: ['minute', 'hour', 'day', 'month'] }),
    ApiQuery({ name: 'timezone', required: false, description: 'IANA name, default UTC' }),
    ApiQuery({
      name: 'groupBy',
      required: false,
      isArray: true,
      enum: ['customer', 'endpoint', 'model'],
      description: 'Repeat or comma-separate; endpoint and model not together',
    }),
    ApiQuery({ name: 'customerId', required: false, isArray: true, type: String }),
    ApiQuery({ name: 'endpoint', required: false, isArray: true, type: String }),
    ApiQuery({ name: 'model', required: false, isArray: true, type: String }),
  ] as const;

function UsageQueries(): MethodDecorator {
  return (target, key, descriptor) => {
    for (const decorate of usageQueries()) decorate(target, key, descriptor);
  };
}

@ApiTags('usage')
@Controller('v1/usage')
export class UsageController {
  constructor(
    private readonly analytics: AnalyticsService,
    private readonly context: TenantContext,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @RequireScope('read')
  @Endpoint({
    id: 'getUsage',
    summary: 'Usage over time',
    description:
      'Calls, tokens and latency per bucket (minute to month, in a time zone), optionally ' +
      'grouped by customer, endpoint or model and filtered; open windows included.',
    access: 'key',
    problems: [400],
  })
  @UsageQueries()
  @ApiOkResponse({ description: CACHING, schema: namedSchema('UsageReport', usageAnswerSchema) })
  async usage(
    @Query() query: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const answer = await this.analytics.usageJson(
      this.context.scope(),
      validateUsage(lists(query)),
      this.clock.now(),
    );
    return conditionalJson(request, reply, answer);
  }

  @Get('daily')
  @RequireScope('read')
  @Endpoint({
    id: 'getDailyUsage',
    summary: 'Usage per customer per day, last 7 days',
    description:
      'Calls and tokens per customer per day: today (in the time zone) and the 6 before.',
    access: 'key',
    problems: [400],
  })
  @ApiQuery({ name: 'timezone', required: false, description: 'IANA name, default UTC' })
  @ApiOkResponse({
    description: `Calls and tokens per customer per day: today (in the time zone) and the 6 days before. ${CACHING}`,
    schema: namedSchema('DailyUsage', dailyAnswerSchema),
  })
  async daily(
    @Query() query: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const answer = await this.analytics.daily(
      this.context.scope(),
      validateDaily(query),
      this.clock.now(),
    );
    return conditionalJson(request, reply, answer);
  }

  @Get('top')
  @RequireScope('read')
  @Endpoint({
    id: 'getTopUsage',
    summary: 'Top customers, endpoints or models',
    description: 'The largest by calls or tokens over the last hours (whole UTC hours).',
    access: 'key',
    problems: [400],
  })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', default: 3 } })
  @ApiQuery({
    name: 'hours',
    required: false,
    schema: { type: 'integer', default: 24 },
    description: 'The current UTC hour and the hours - 1 before it',
  })
  @ApiQuery({ name: 'by', required: false, enum: ['calls', 'tokens'] })
  @ApiQuery({ name: 'dimension', required: false, enum: ['customer', 'endpoint', 'model'] })
  @ApiOkResponse({ description: CACHING, schema: namedSchema('TopUsage', topAnswerSchema) })
  async top(
    @Query() query: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const answer = await this.analytics.top(
      this.context.scope(),
      validateTop(query),
      this.clock.now(),
    );
    return conditionalJson(request, reply, answer);
  }

  @Get('live')
  @RequireScope('read')
  @ApiQuery({ name: 'customerId', required: false })
  @Endpoint({
    id: 'getLiveUsage',
    summary: 'Usage not yet flushed',
    description: 'The windows still open in Redis, per customer; 503 while Redis is unreachable.',
    access: 'key',
    problems: [400],
  })
  @ApiOkResponse({
    description:
      'The windows still open in Redis (counts not yet flushed to Postgres), per customer.',
    schema: namedSchema('LiveUsage', liveAnswerSchema),
  })
  async live(@Query() query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { customerId } = validateLive(query);
    void reply.header('Cache-Control', 'no-store');
    return this.analytics.live(this.context.scope(), customerId);
  }

  @Get('export')
  @RequireScope('read')
  @Endpoint({
    id: 'exportUsage',
    summary: 'Usage over time as CSV',
    description:
      'The answer of GET /v1/usage as a streamed CSV file, for spreadsheets and billing.',
    access: 'key',
    problems: [400],
  })
  @UsageQueries()
  @ApiProduces('text/csv')
  @ApiOkResponse({
    description: `GET /v1/usage as CSV, streamed: bucket_start, bucket_end, the groups asked for, then the measures. ${CACHING}`,
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  async export(
    @Query() query: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const answer = await this.analytics.usage(
      this.context.scope(),
      validateUsage(lists(query)),
      this.clock.now(),
    );
    if (notModified(request, reply, answer, 'csv')) return undefined;
    return new StreamableFile(usageCsv(answer), {
      type: 'text/csv; charset=utf-8',
      disposition: 'attachment; filename="usage.csv"',
    });
  }
}
