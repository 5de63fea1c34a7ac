import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { openApi } from '../common/openapi/json-schema';
import { ProblemResponses } from '../common/openapi/problem-responses';
import { validateBody } from '../common/validation/validate-body';
import { AdminOnly } from './auth.decorators';
import { createTenantSchema, createdTenantSchema } from './tenant.schemas';
import { TenantsService } from './tenants.service';

const validateCreateTenant = validateBody<{ name: string }>(createTenantSchema);

@ApiTags('tenants')
@ApiSecurity('adminToken')
@Controller('v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @HttpCode(201)
  @AdminOnly()
  @ApiBody({ schema: openApi(createTenantSchema) })
  @ApiCreatedResponse({
    schema: openApi(createdTenantSchema),
    description: 'The key is shown only here.',
  })
  @ProblemResponses(400, 401)
  async create(@Body() body: unknown) {
    const { name } = validateCreateTenant(body);
    const { tenant, apiKey } = await this.tenants.create(name.trim());
    return {
      tenant: {
        id: tenant.id,
        name: tenant.name,
        active: tenant.active,
        createdAt: tenant.createdAt.toISOString(),
      },
      apiKey: { id: apiKey.id, key: apiKey.key, prefix: apiKey.prefix, scopes: apiKey.scopes },
    };
  }
}
