import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  Patch,
  Post,
} from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
import { validateBody } from '../common/validation/validate-body';
import {
  apiKeyListSchema,
  apiKeySchema,
  createApiKeySchema,
  createdApiKeySchema,
  updateApiKeySchema,
} from './api-key.schemas';
import { ApiKeysService } from './api-keys.service';
import { RequireScope } from '../common/access/auth.decorators';
import type { Scope } from '../common/access/scope';
import { TenantContext } from '../common/access/tenant-context';
import { createdKeyView, keyView } from './api-key-view';
import { type KeyRateLimitsBody, toKeyRateLimits } from './key-rate-limits';

const validateCreate = validateBody<{
  name: string;
  scopes: Scope[];
  rateLimits?: KeyRateLimitsBody;
}>(createApiKeySchema);
const validateUpdate = validateBody<{ rateLimits: KeyRateLimitsBody }>(updateApiKeySchema);

/** A tenant's own keys. Neither the secret nor its hash ever leaves here after creation. */
@ApiTags('api-keys')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly context: TenantContext,
  ) {}

  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  // The answer holds a secret: no cache, shared or private, may keep it.
  @Header('Cache-Control', 'no-store')
  @Endpoint({
    id: 'createApiKey',
    summary: 'Create an API key',
    description:
      "A new key for the caller's tenant with the scopes given (`ingest`, `read`, `admin`) and, " +
      'optionally, its own rate limits. The secret is in this answer only.',
    access: 'key',
    body: true,
  })
  @ApiBody({
    schema: namedSchema('CreateApiKeyRequest', createApiKeySchema),
    examples: {
      producer: {
        summary: 'An ingest-only key',
        value: {
          name: 'producer',
          scopes: ['ingest'],
          rateLimits: { events: { limit: 5000, period: '1s' } },
        },
      },
    },
  })
  @ApiCreatedResponse({ schema: namedSchema('CreatedApiKey', createdApiKeySchema) })
  async create(@Body() body: unknown) {
    const { name, scopes, rateLimits = {} } = validateCreate(body);
    const created = await this.keys.create(
      this.context.scope(),
      name.trim(),
      scopes,
      toKeyRateLimits(rateLimits, '/rateLimits'),
    );
    return createdKeyView(created);
  }

  @Get()
  @RequireScope('admin')
  @Endpoint({
    id: 'listApiKeys',
    summary: "List the tenant's API keys",
    description: 'Every key, revoked ones included, oldest first; never a secret or its hash.',
    access: 'key',
  })
  @ApiOkResponse({
    schema: namedSchema('ApiKeyList', apiKeyListSchema),
    description: 'Oldest first.',
  })
  async list() {
    const keys = await this.keys.list(this.context.scope());
    return { data: keys.map(keyView) };
  }

  @Patch(':id')
  @RequireScope('admin')
  @ApiParam({ name: 'id', format: 'uuid' })
  @Endpoint({
    id: 'updateApiKey',
    summary: "Set an API key's rate limits",
    description:
      "Replaces the key's own rate limits; a class left out falls back to the server's default.",
    access: 'key',
    body: true,
    problems: [404],
  })
  @ApiBody({
    schema: namedSchema('UpdateApiKeyRequest', updateApiKeySchema),
    examples: { limits: { value: { rateLimits: { requests: { limit: 600, period: '1m' } } } } },
  })
  @ApiOkResponse({
    schema: namedSchema('ApiKey', apiKeySchema),
    description: 'Applies at once here, on other instances within API_KEY_CACHE_SECONDS.',
  })
  async update(@Param('id') id: string, @Body() body: unknown) {
    const { rateLimits } = validateUpdate(body);
    const key = await this.keys.setRateLimits(
      this.context.scope(),
      id,
      toKeyRateLimits(rateLimits, '/rateLimits'),
    );
    return keyView(key);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({
    description:
      'Revoked (again, if it already was): 401 from now on, everywhere within API_KEY_CACHE_SECONDS.',
  })
  @Endpoint({
    id: 'revokeApiKey',
    summary: 'Revoke an API key',
    description: 'The key, and every token issued for it, stops working. Idempotent.',
    access: 'key',
    problems: [404],
  })
  async revoke(@Param('id') id: string): Promise<void> {
    await this.keys.revoke(this.context.scope(), id);
  }
}
