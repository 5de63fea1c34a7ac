import { Body, Controller, Get, Header, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { openApi } from '../common/openapi/json-schema';
import { ProblemResponses } from '../common/openapi/problem-responses';
import { validateBody, validateQuery } from '../common/validation/validate-body';
import { AdminOnly } from '../common/access/auth.decorators';
import {
  createdTenantSchema,
  createTenantSchema,
  listTenantsQuerySchema,
  tenantPageSchema,
  tenantSchema,
  updateTenantSchema,
} from './tenant.schemas';
import { firstKeyView } from '../api-keys';
import { toTenantView, TenantView } from './tenant-view';
import { TenantChanges, TenantsService } from './tenants.service';

const validateCreate = validateBody<{ name: string }>(createTenantSchema);
const validateUpdate = validateBody<TenantChanges>(updateTenantSchema);
const validateList = validateQuery<{ limit: number; cursor?: string }>(listTenantsQuerySchema);

/** The operator's routes; a tenant's own keys never reach them (X-Admin-Token only). */
@ApiTags('tenants')
@Controller('v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @HttpCode(201)
  @AdminOnly()
  // The answer holds a secret: no cache, shared or private, may keep it.
  @Header('Cache-Control', 'no-store')
  @ApiBody({ schema: openApi(createTenantSchema) })
  @ApiCreatedResponse({
    schema: openApi(createdTenantSchema),
    description: 'The key is shown only here.',
  })
  @ProblemResponses(400, 401, 403)
  async create(@Body() body: unknown) {
    const { name } = validateCreate(body);
    const { tenant, apiKey } = await this.tenants.create(name.trim());
    return {
      tenant: toTenantView(tenant),
      apiKey: firstKeyView(apiKey),
    };
  }

  @Get()
  @AdminOnly()
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', default: 100 } })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiOkResponse({ schema: openApi(tenantPageSchema), description: 'Oldest first.' })
  @ProblemResponses(400, 401, 403)
  async list(@Query() query: unknown): Promise<{ data: TenantView[]; nextCursor: string | null }> {
    const { limit, cursor } = validateList(query);
    const page = await this.tenants.list(limit, cursor);
    return { data: page.tenants.map(toTenantView), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @AdminOnly()
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ schema: openApi(tenantSchema) })
  @ProblemResponses(401, 403, 404)
  async get(@Param('id') id: string): Promise<TenantView> {
    return toTenantView(await this.tenants.get(id));
  }

  @Patch(':id')
  @AdminOnly()
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiBody({ schema: openApi(updateTenantSchema) })
  @ApiOkResponse({ schema: openApi(tenantSchema) })
  @ProblemResponses(400, 401, 403, 404)
  async update(@Param('id') id: string, @Body() body: unknown): Promise<TenantView> {
    const changes = validateUpdate(body);
    if (changes.name !== undefined) changes.name = changes.name.trim();
    return toTenantView(await this.tenants.update(id, changes));
  }
}
