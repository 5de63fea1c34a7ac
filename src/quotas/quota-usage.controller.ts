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
import { openApi } from '../common/openapi/json-schema';
import { ProblemResponses } from '../common/openapi/problem-responses';
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

const header = (description: string, type = 'integer') => ({ description, schema: { type } });
const consumeHeaderDocs = {
  [QUOTA_POLICY_HEADER]: header('The failure policy: fail-open or fail-closed.', 'string'),
  'RateLimit-Limit': header('The binding limit.'),
  'RateLimit-Remaining': header('Units left under it.'),
  'RateLimit-Reset': header('Seconds until it is whole.'),
  'RateLimit-Policy': header('Every limit applied, e.g. `100;w=60, 5000;w=86400`.', 'string'),
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
  @ApiBody({ schema: openApi(consumeBodySchema) })
  @ApiOkResponse({ schema: openApi(consumeResultSchema), headers: consumeHeaderDocs })
  @ApiResponse({
    status: 429,
    description: 'Refused; nothing was consumed.',
    headers: {
      ...consumeHeaderDocs,
      'Retry-After': header('Seconds until the same call could pass.'),
    },
    content: { [PROBLEM_CONTENT_TYPE]: { schema: openApi(quotaExceededSchema) } },
  })
  @ProblemResponses(400, 401, 403, 503)
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
  @ApiOkResponse({ schema: openApi(quotaStatusSchema) })
  @ProblemResponses(400, 401, 403, 503)
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
  @ProblemResponses(400, 401, 403, 404, 503)
  async reset(@Param('externalId') externalId: string): Promise<void> {
    const scope = this.context.scope();
    const customerId = customerParam(externalId);
    await this.customers.assertExists(scope, customerId);
    await this.quotas.reset(scope, customerId);
  }
}
