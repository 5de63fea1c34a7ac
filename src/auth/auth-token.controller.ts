import { Controller, Header, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
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
  @Endpoint({
    id: 'issueAccessToken',
    summary: 'Exchange an API key for a token',
    description:
      "A JWT bearer token with the key's tenant and scopes, valid JWT_TTL_SECONDS and revoked " +
      'with the key. Only an API key itself may ask (a token cannot mint tokens).',
    access: 'key',
  })
  @ApiOkResponse({ schema: namedSchema('AccessToken', accessTokenSchema) })
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
  @Endpoint({
    id: 'issueStreamTicket',
    summary: 'Get a ticket for the live stream',
    description:
      'A single-use ticket for `GET /v1/stream?ticket=` (EventSource cannot send headers), read ' +
      'scope only, valid LIVE_TICKET_TTL_SECONDS.',
    access: 'key',
  })
  @ApiOkResponse({ schema: namedSchema('StreamTicket', streamTicketSchema) })
  streamTicket(): Promise<IssuedTicket> {
    return this.tickets.issue(this.context.principal());
  }
}
