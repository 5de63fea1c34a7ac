import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiHeader, ApiOkResponse, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { Endpoint } from '../common/openapi/endpoint';
import { validateQuery } from '../common/validation/validate-body';
import { RequireStreamAccess } from '../common/access/auth.decorators';
import { TenantContext } from '../common/access/tenant-context';
import { EVENT_ID } from './event-id';
import { StreamHub } from './stream-hub';
import { type StreamQuery, streamQuerySchema } from './stream.schemas';

const validateStreamQuery = validateQuery<StreamQuery>(streamQuerySchema);

const STREAM_DESCRIPTION = [
  'Server-Sent Events for the tenant, each `id: <id>`, `event: <type>`, `data: <JSON envelope',
  "{id, type, time, customerId, data}>`. Types: `usage.updated` (a customer's changed open",
  'windows with their running totals, at most one per customer per LIVE_COALESCE_MS),',
  '`window.closed` (the window as GET /v1/windows returns it, on each flush and re-flush),',
  '`reset` (the history no longer reaches back to Last-Event-ID: read the state again),',
  '`dropped` (the server ends the stream: too slow, or the credential was revoked). Comments',
  'every LIVE_HEARTBEAT_SECONDS; more types will come (ignore unknown ones). docs/live.md.',
].join(' ');

@ApiTags('live')
@Controller('v1/stream')
export class StreamController {
  constructor(
    private readonly hub: StreamHub,
    private readonly context: TenantContext,
  ) {}

  @Get()
  @RequireStreamAccess()
  // Kept out of the HTTP latency histogram: streams have their own series.
  @RouteConfig({ longLived: true })
  @ApiProduces('text/event-stream')
  @ApiQuery({ name: 'customerId', required: false, isArray: true, type: String })
  @ApiQuery({ name: 'lastEventId', required: false })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this id.' })
  @ApiOkResponse({
    description: STREAM_DESCRIPTION,
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @Endpoint({
    id: 'streamUsage',
    summary: 'Stream usage as it happens (SSE)',
    description:
      'Server-Sent Events for the tenant; resumable with Last-Event-ID. A browser authenticates ' +
      'with `?ticket=` (POST /v1/auth/stream-ticket). 429: LIVE_MAX_STREAMS_PER_TENANT reached.',
    access: 'key',
    problems: [400],
  })
  async stream(
    @Query() query: unknown,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const params = validateStreamQuery(query);
    const customers = params.customerId === undefined ? null : new Set([params.customerId].flat());
    await this.hub.open({
      principal: this.context.principal(),
      customers,
      lastEventId: lastEventId(request, params),
      // Taken over only once the stream will start: until then errors are problem+json.
      takeOver: () => {
        reply.hijack();
        return { response: reply.raw, headers: reply.getHeaders() };
      },
    });
  }
}

/** The header (what EventSource sends when it reconnects) wins over the query parameter. */
function lastEventId(request: FastifyRequest, params: StreamQuery): string | undefined {
  const header = request.headers['last-event-id'];
  if (header === undefined || header === '') return params.lastEventId;
  if (typeof header !== 'string' || !EVENT_ID.test(header)) {
    throw new DomainError(ErrorCode.ValidationFailed, 'The request is not valid.', {
      errors: [{ path: '/headers/last-event-id', message: 'must be an event id (<ms>-<seq>)' }],
    });
  }
  return header;
}
