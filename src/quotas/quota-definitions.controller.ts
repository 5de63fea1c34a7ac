import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBody, ApiNoContentResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
import { RequireScope } from '../common/access/auth.decorators';
import { customerParam, CustomersService } from '../customers';
import { TenantContext } from '../common/access/tenant-context';
import { Metric, metricOf, METRICS } from './metric';
import { formatPeriod } from '../common/period/period';
import { QuotaDefinitions } from './quota-definitions';
import type { QuotaLimit } from './quota.repository';
import { quotaDefinitionSchema, setQuotaBodySchema } from './quota.schemas';
import { parseSetQuotaBody } from './set-quota-body';

const quotaDefinition = () => namedSchema('QuotaDefinition', quotaDefinitionSchema);

const SetQuotaBody = () =>
  ApiBody({
    schema: namedSchema('SetQuotaRequest', setQuotaBodySchema),
    examples: {
      one: { summary: 'One limit', value: { limit: 1000, period: '1h', algorithm: 'sliding' } },
      several: {
        summary: 'Several limits, all must hold',
        value: {
          limits: [
            { limit: 1000, period: '1h', algorithm: 'sliding' },
            { limit: 10000, period: '1d', algorithm: 'fixed' },
          ],
        },
      },
    },
  });

interface QuotaDefinitionView {
  customerId: string | null;
  metric: Metric;
  limits: { limit: number; period: string; algorithm: string }[];
}

/**
 * A customer's quota on a metric, or the tenant's default for it, is one resource: the
 * set of its limits (one per period). PUT replaces the whole set. A customer's quota
 * lives under a customer of the caller's tenant: 404 when there is no such customer.
 */
@ApiTags('quotas')
@ApiParam({ name: 'metric', enum: METRICS })
@Controller('v1')
export class QuotaDefinitionsController {
  constructor(
    private readonly definitions: QuotaDefinitions,
    private readonly customers: CustomersService,
    private readonly context: TenantContext,
  ) {}

  @Put('customers/:externalId/quotas/:metric')
  @RequireScope('admin')
  @Endpoint({
    id: 'setCustomerQuota',
    summary: "Set a customer's quota on a metric",
    description: 'Replaces the whole set of its limits (one per period); they apply at once.',
    access: 'key',
    body: true,
    problems: [404],
  })
  @SetQuotaBody()
  @ApiOkResponse({ schema: quotaDefinition() })
  async putCustomer(
    @Param('externalId') externalId: string,
    @Param('metric') metric: string,
    @Body() body: unknown,
  ): Promise<QuotaDefinitionView> {
    return this.put(await this.customer(externalId), metric, body);
  }

  @Get('customers/:externalId/quotas/:metric')
  @RequireScope('admin')
  @Endpoint({
    id: 'getCustomerQuota',
    summary: "Get a customer's quota on a metric",
    description: "The customer's own limits; 404 when it has none (the default applies).",
    access: 'key',
    problems: [400, 404],
  })
  @ApiOkResponse({ schema: quotaDefinition() })
  async getCustomer(
    @Param('externalId') externalId: string,
    @Param('metric') metric: string,
  ): Promise<QuotaDefinitionView> {
    return this.get(await this.customer(externalId), metric);
  }

  @Delete('customers/:externalId/quotas/:metric')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiNoContentResponse({ description: 'Gone, or was never set; the default applies again.' })
  @Endpoint({
    id: 'deleteCustomerQuota',
    summary: "Remove a customer's quota on a metric",
    description: "The tenant's default applies to the customer again.",
    access: 'key',
    problems: [400, 404],
  })
  async deleteCustomer(
    @Param('externalId') externalId: string,
    @Param('metric') metric: string,
  ): Promise<void> {
    await this.definitions.remove(
      this.context.scope(),
      await this.customer(externalId),
      metricOf(metric),
    );
  }

  @Put('quotas/defaults/:metric')
  @RequireScope('admin')
  @Endpoint({
    id: 'setDefaultQuota',
    summary: "Set the tenant's default quota on a metric",
    description: 'Applies to every customer without a quota of its own on the metric.',
    access: 'key',
    body: true,
    problems: [404],
  })
  @SetQuotaBody()
  @ApiOkResponse({ schema: quotaDefinition() })
  putDefault(@Param('metric') metric: string, @Body() body: unknown): Promise<QuotaDefinitionView> {
    return this.put(null, metric, body);
  }

  @Get('quotas/defaults/:metric')
  @RequireScope('admin')
  @Endpoint({
    id: 'getDefaultQuota',
    summary: "Get the tenant's default quota on a metric",
    description: '404 when none is set.',
    access: 'key',
    problems: [404],
  })
  @ApiOkResponse({ schema: quotaDefinition() })
  getDefault(@Param('metric') metric: string): Promise<QuotaDefinitionView> {
    return this.get(null, metric);
  }

  @Delete('quotas/defaults/:metric')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiNoContentResponse({ description: 'Gone, or was never set.' })
  @Endpoint({
    id: 'deleteDefaultQuota',
    summary: "Remove the tenant's default quota on a metric",
    description: 'Customers without a quota of their own are then unlimited on the metric.',
    access: 'key',
    problems: [404],
  })
  async deleteDefault(@Param('metric') metric: string): Promise<void> {
    await this.definitions.remove(this.context.scope(), null, metricOf(metric));
  }

  private async customer(externalId: string): Promise<string> {
    const customerId = customerParam(externalId);
    await this.customers.assertExists(this.context.scope(), customerId);
    return customerId;
  }

  private async put(
    customerId: string | null,
    metricName: string,
    body: unknown,
  ): Promise<QuotaDefinitionView> {
    const metric = metricOf(metricName);
    const limits = parseSetQuotaBody(body);
    const saved = await this.definitions.replace(this.context.scope(), customerId, metric, limits);
    return view(customerId, metric, saved);
  }

  private async get(customerId: string | null, metricName: string): Promise<QuotaDefinitionView> {
    const metric = metricOf(metricName);
    const limits = await this.definitions.list(this.context.scope(), customerId, metric);
    if (limits.length === 0) {
      const whose = customerId === null ? 'as the default' : `for customer '${customerId}'`;
      throw new DomainError(ErrorCode.NotFound, `No ${metric} quota is set ${whose}.`);
    }
    return view(customerId, metric, limits);
  }
}

function view(customerId: string | null, metric: Metric, limits: QuotaLimit[]) {
  return {
    customerId,
    metric,
    limits: limits.map((l) => ({
      limit: l.limit,
      period: formatPeriod(l.periodSeconds),
      algorithm: l.algorithm,
    })),
  };
}
