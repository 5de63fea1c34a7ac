import { Controller, Header, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { openApi } from '../common/openapi/json-schema';
import { ProblemResponses } from '../common/openapi/problem-responses';
import { AccessTokens, IssuedToken } from './access-tokens';
import { accessTokenSchema } from './api-key.schemas';
import { RequireApiKey } from './auth.decorators';
import { TenantContext } from './tenant-context';

@ApiTags('auth')
@Controller('v1/auth')
export class AuthTokenController {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly context: TenantContext,
  ) {}

  /** The token carries the key's tenant and scopes, lives JWT_TTL_SECONDS, and dies with the key. */
  @Post('token')
  @HttpCode(200)
  // The answer holds a secret: no cache, shared or private, may keep it.
  @Header('Cache-Control', 'no-store')
  @RequireApiKey()
  @ApiOkResponse({ schema: openApi(accessTokenSchema) })
  @ProblemResponses(401, 403, 429)
  issue(): Promise<IssuedToken> {
    return this.tokens.issue(this.context.principal());
  }
}
