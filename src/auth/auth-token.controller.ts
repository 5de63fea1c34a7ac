import { Controller, Header, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { openApi } from '../common/openapi/json-schema';
import { ProblemResponses } from '../common/openapi/problem-responses';
import { AccessTokens, IssuedToken } from './access-tokens';
import { accessTokenSchema, streamTicketSchema } from '../api-keys';
import { RequireApiKey, RequireScope } from '../common/access/auth.decorators';
import { type IssuedTicket, StreamTickets } from './stream-tickets';
import { TenantContext } from '../common/access/tenant-context';

@ApiTags('auth')
@Controller('v1/auth')
export class AuthTokenController {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly tickets: StreamTickets,
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

  /**
   * A single-use ticket for `GET /v1/stream?ticket=` (EventSource cannot send headers):
   * read scope only, LIVE_TICKET_TTL_SECONDS, refused by every other route. docs/live.md.
   */
  @Post('stream-ticket')
  @HttpCode(200)
  @RequireScope('read')
  @ApiOkResponse({ schema: openApi(streamTicketSchema) })
  @ProblemResponses(401, 403, 429)
  streamTicket(): Promise<IssuedTicket> {
    return this.tickets.issue(this.context.principal());
  }
}
