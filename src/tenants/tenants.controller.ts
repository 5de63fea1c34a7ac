import { Body, Controller, Get, Header, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
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
  @Endpoint({
    id: 'createTenant',
    summary: 'Create a tenant',
    description:
      'A tenant and its first API key (all scopes), whose secret is in this answer only.',
    access: 'admin',
    body: true,
  })
  @ApiBody({
    schema: namedSchema('CreateTenantRequest', createTenantSchema),
    examples: { tenant: { value: { name: 'Acme' } } },
  })
  @ApiCreatedResponse({
    schema: namedSchema('CreatedTenant', createdTenantSchema),
    description: 'The key is shown only here.',
  })
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
  @Endpoint({
    id: 'listTenants',
    summary: 'List tenants',
    description: 'Oldest first, cursor-paginated.',
    access: 'admin',
    problems: [400],
  })
  @ApiOkResponse({
    schema: namedSchema('TenantPage', tenantPageSchema),
    description: 'Oldest first.',
  })
  async list(@Query() query: unknown): Promise<{ data: TenantView[]; nextCursor: string | null }> {
    const { limit, cursor } = validateList(query);
    const page = await this.tenants.list(limit, cursor);
    return { data: page.tenants.map(toTenantView), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @AdminOnly()
  @ApiParam({ name: 'id', format: 'uuid' })
  @Endpoint({
    id: 'getTenant',
    summary: 'Get a tenant',
    description: 'One tenant by id.',
    access: 'admin',
    problems: [404],
  })
  @ApiOkResponse({ schema: namedSchema('Tenant', tenantSchema) })
  async get(@Param('id') id: string): Promise<TenantView> {
    return toTenantView(await this.tenants.get(id));
  }

  @Patch(':id')
  @AdminOnly()
  @ApiParam({ name: 'id', format: 'uuid' })
  @Endpoint({
    id: 'updateTenant',
    summary: 'Change a tenant',
    description: "Renames it, or suspends or resumes it (a suspended tenant's keys answer 403).",
    access: 'admin',
    body: true,
    problems: [404],
  })
  @ApiBody({
    schema: namedSchema('UpdateTenantRequest', updateTenantSchema),
    examples: { rename: { value: { name: 'Acme Inc' } } },
  })
  @ApiOkResponse({ schema: namedSchema('Tenant', tenantSchema) })
  async update(@Param('id') id: string, @Body() body: unknown): Promise<TenantView> {
    const changes = validateUpdate(body);
    if (changes.name !== undefined) changes.name = changes.name.trim();
    return toTenantView(await this.tenants.update(id, changes));
  }
}
