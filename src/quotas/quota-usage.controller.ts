import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PROBLEM_CONTENT_TYPE } from '../common/errors/problem';
import { headerRefs, RATE_LIMIT_HEADERS } from '../common/openapi/headers';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
import { validateBody, validateQuery } from '../common/validation/validate-body';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { RequireScope } from '../common/access/auth.decorators';
import { TenantContext } from '../common/access/tenant-context';
import { customerParam, CustomersService } from '../customers';
import { type Metric, METRICS } from './metric';
import { QuotaExceeded } from './quota-exceeded';
import { decisionView, DecisionView, exceededView, limitViews, LimitView } from './quota-views';
import {
  consumeBodySchema,
  consumeResultSchema,
  quotaExceededSchema,
  quotaStatusSchema,
  statusQuerySchema,
} from './quota.schemas';
import { ConsumeRequest, QuotaService } from './quota.service';
import {
  QUOTA_POLICY_HEADER,
  quotaPolicyValue,
  rateLimitHeaders,
  retryAfterSeconds,
} from '../rate-limits';
import { answerKeyRate, ChargesKeyInHandler, CountsEvents } from '../api-key-limits';

const validateConsume = validateBody<ConsumeRequest>(consumeBodySchema);
const validateStatus = validateQuery<{ customerId: string; metric?: Metric }>(statusQuerySchema);

const consumeHeaderDocs = {
  [QUOTA_POLICY_HEADER]: {
    description: 'The failure policy: fail-open or fail-closed.',
    schema: { type: 'string', enum: ['fail-open', 'fail-closed'] },
  },
  ...headerRefs(RATE_LIMIT_HEADERS),
};

@ApiTags('quotas')
@Controller('v1')
export class QuotaUsageController {
  private readonly policy: string;

  constructor(
    private readonly quotas: QuotaService,
    private readonly customers: CustomersService,
    private readonly context: TenantContext,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.policy = quotaPolicyValue(config.quota.failurePolicy);
  }

  @Post('quotas/consume')
  @HttpCode(200)
  @RequireScope('ingest')
  @CountsEvents()
  @ChargesKeyInHandler()
  @ApiResponse({
    status: 429,
    description:
      "Refused by the customer's quota (`exceeded` names the limit); nothing was consumed.",
    headers: { ...consumeHeaderDocs, ...headerRefs(['Retry-After']) },
    content: {
      [PROBLEM_CONTENT_TYPE]: { schema: namedSchema('QuotaExceeded', quotaExceededSchema) },
    },
  })
  @Endpoint({
    id: 'consumeQuota',
    summary: "Check and consume a customer's quota",
    description:
      'Consumes `units` of the metric if every limit that applies to the customer (its own, or ' +
      "the tenant's default) has room, atomically; otherwise 429 and nothing is consumed. No " +
      'limit set: allowed, with no RateLimit headers. With Redis unreachable the failure policy ' +
      'decides (Tally-Quota-Policy): allowed unenforced (fail-open) or 503 (fail-closed).',
    access: 'key',
    body: true,
  })
  @ApiBody({
    schema: namedSchema('ConsumeRequest', consumeBodySchema),
    examples: { calls: { value: { customerId: 'c-42', metric: 'calls', units: 1 } } },
  })
  @ApiOkResponse({
    schema: namedSchema('ConsumeResult', consumeResultSchema),
    headers: consumeHeaderDocs,
  })
  async consume(
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DecisionView> {
    void reply.header(QUOTA_POLICY_HEADER, this.policy);
    const request = validateConsume(body);
    const { key, rules, decision } = await this.quotas.consume(
      this.context.scope(),
      this.context.principal(),
      request,
    );
    if (key && !key.decision.allowed) answerKeyRate(reply, 'events', key);
    void reply.headers(rateLimitHeaders(rules, decision));
    if (!decision.allowed) {
      throw new QuotaExceeded(
        exceededView(rules, decision),
        request.units,
        retryAfterSeconds(decision),
      );
    }
    return decisionView(rules, decision);
  }

  @Get('quotas/status')
  @RequireScope('read')
  @ApiQuery({ name: 'customerId', required: true })
  @ApiQuery({ name: 'metric', required: false, enum: METRICS })
  @Endpoint({
    id: 'getQuotaStatus',
    summary: "Read a customer's quota state",
    description:
      'Every limit that applies, with what remains and when it resets; consumes nothing.',
    access: 'key',
    problems: [400],
  })
  @ApiOkResponse({ schema: namedSchema('QuotaStatus', quotaStatusSchema) })
  async status(@Query() query: unknown): Promise<{ customerId: string; limits: LimitView[] }> {
    const { customerId, metric } = validateStatus(query);
    const metrics = metric ? [metric] : [...METRICS];
    const { rules, decision } = await this.quotas.status(this.context.scope(), customerId, metrics);
    return { customerId, limits: limitViews(rules, decision) };
  }

  @Post('customers/:externalId/quotas/reset')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiNoContentResponse({ description: 'Every limit of the customer is whole again.' })
  @Endpoint({
    id: 'resetCustomerQuotas',
    summary: "Reset a customer's quotas",
    description: 'Every limit of the customer starts whole again; the definitions stay.',
    access: 'key',
    problems: [400, 404],
  })
  async reset(@Param('externalId') externalId: string): Promise<void> {
    const scope = this.context.scope();
    const customerId = customerParam(externalId);
    await this.customers.assertExists(scope, customerId);
    await this.quotas.reset(scope, customerId);
  }
}
