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
import { openApi } from '../common/openapi/json-schema';
import { ProblemResponses } from '../common/openapi/problem-responses';
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
  @ApiBody({ schema: openApi(createApiKeySchema) })
  @ApiCreatedResponse({ schema: openApi(createdApiKeySchema) })
  @ProblemResponses(400, 401, 403, 429)
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
  @ApiOkResponse({ schema: openApi(apiKeyListSchema), description: 'Oldest first.' })
  @ProblemResponses(401, 403, 429)
  async list() {
    const keys = await this.keys.list(this.context.scope());
    return { data: keys.map(keyView) };
  }

  @Patch(':id')
  @RequireScope('admin')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiBody({ schema: openApi(updateApiKeySchema) })
  @ApiOkResponse({
    schema: openApi(apiKeySchema),
    description: 'Applies at once here, on other instances within API_KEY_CACHE_SECONDS.',
  })
  @ProblemResponses(400, 401, 403, 404, 429)
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
  @ProblemResponses(401, 403, 404, 429)
  async revoke(@Param('id') id: string): Promise<void> {
    await this.keys.revoke(this.context.scope(), id);
  }
}
