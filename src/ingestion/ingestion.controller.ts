import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiTags } from '@nestjs/swagger';
import { openApi } from '../common/openapi/json-schema';
import { ProblemResponses } from '../common/openapi/problem-responses';
import { Metrics } from '../infra/metrics/metrics';
import { CountsEvents } from '../api-key-limits';
import { RequireScope } from '../common/access/auth.decorators';
import { TenantContext } from '../common/access/tenant-context';
import { ingestBodySchema } from './event.schema';
import { EventValidator } from './event-validator';
import { IngestionService, IngestResult } from './ingestion.service';

@ApiTags('events')
@Controller('v1/events')
export class IngestionController {
  constructor(
    private readonly validator: EventValidator,
    private readonly ingestion: IngestionService,
    private readonly context: TenantContext,
    private readonly metrics: Metrics,
  ) {}

  @Post()
  @HttpCode(202)
  @RequireScope('ingest')
  @CountsEvents()
  @ApiBody({ schema: openApi(ingestBodySchema) })
  @ApiAcceptedResponse({
    schema: openApi({
      type: 'object',
      required: ['accepted', 'duplicates'],
      properties: {
        accepted: {
          type: 'integer',
          description: 'Events taken (counted, or synced to the spool), less known duplicates.',
        },
        duplicates: { type: 'integer', description: 'Events already counted before.' },
        spooled: {
          type: 'integer',
          description:
            "Only while Redis is unreachable: how many of `accepted` were synced to this instance's " +
            'spool and are counted when Redis is back. Duplicates among them are found then, so ' +
            '`accepted` may overstate new events by up to this many.',
        },
      },
    }),
  })
  @ProblemResponses(400, 401, 403, 413, 415, 503)
  async ingest(@Body() body: unknown): Promise<IngestResult> {
    const now = Date.now();
    let events;
    try {
      events = this.validator.validate(body, this.context.tenantId(), now);
    } catch (error) {
      this.metrics.events.inc({ outcome: 'rejected' }, Array.isArray(body) ? body.length : 1);
      throw error;
    }
    return this.ingestion.ingest(events, now);
  }
}
