import { Body, Controller, HttpCode, Inject, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CLOCK, type Clock } from '../common/clock';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
import { Metrics } from '../infra/metrics/metrics';
import { ApiKeyRateGate, ChargesKeyInHandler, CountsEvents } from '../api-key-limits';
import { RequireScope } from '../common/access/auth.decorators';
import { TenantContext } from '../common/access/tenant-context';
import { meteringEventSchema } from './event.schema';
import { EventValidator } from './event-validator';
import { IngestionService, IngestResult } from './ingestion.service';

const usageEvent = () => namedSchema('UsageEvent', meteringEventSchema);

/** Events with ids of their own, and no tenantId: the key names the tenant (Try-it works as is). */
const EXAMPLE_EVENT = {
  eventId: '0b7e5c1a-3f2d-4c8e-9a61-2d4f8b9c7e10',
  timestamp: '2026-12-01T12:00:00Z',
  customerId: 'c-42',
  apiEndpoint: '/v1/chat/completions',
  metadata: { inputTokens: 120, outputTokens: 480, model: 'gpt-4o', latencyMs: 830 },
};

@ApiTags('events')
@Controller('v1/events')
export class IngestionController {
  constructor(
    private readonly validator: EventValidator,
    private readonly ingestion: IngestionService,
    private readonly context: TenantContext,
    private readonly metrics: Metrics,
    private readonly gate: ApiKeyRateGate,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(202)
  @RequireScope('ingest')
  @CountsEvents()
  @ChargesKeyInHandler()
  @Endpoint({
    id: 'ingestEvents',
    summary: 'Send usage events',
    description:
      'One event or an array of up to INGEST_MAX_EVENTS_PER_REQUEST, counted into their windows ' +
      'before the 202. Each event is counted once by its `eventId` (a retry is safe), and a ' +
      "customer named for the first time is created. Counts against the key's `events` rate, " +
      'one unit per event. While Redis is unreachable events go to the spool (`spooled`); a full ' +
      'spool or stream backlog answers 503 with Retry-After.',
    access: 'key',
    body: true,
  })
  @ApiBody({
    schema: {
      oneOf: [usageEvent(), { type: 'array', minItems: 1, maxItems: 1000, items: usageEvent() }],
    },
    examples: {
      event: { summary: 'One event', value: EXAMPLE_EVENT },
      batch: {
        summary: 'A batch',
        value: [
          EXAMPLE_EVENT,
          {
            ...EXAMPLE_EVENT,
            eventId: '5d1c9e7b-8a4f-4b2e-b3c6-7f0a1e2d3c4b',
            metadata: { tokens: 64 },
          },
        ],
      },
    },
  })
  @ApiAcceptedResponse({
    schema: namedSchema('IngestResult', {
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
  async ingest(
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<IngestResult> {
    const now = this.clock.now();
    // The key's event budget is asked first and awaited by the batcher, not here: its round
    // trip overlaps the validation and the batcher's collection delay instead of preceding
    // them, and no event is counted unless it admits the request (docs/performance.md).
    const admitted = this.gate.admit(this.context.principal(), 'events', body, reply);
    try {
      let events;
      try {
        events = this.validator.validate(body, this.context.tenantId(), now);
      } catch (error) {
        await admitted; // a request its budget refused is not counted as rejected input
        this.metrics.events.inc({ outcome: 'rejected' }, Array.isArray(body) ? body.length : 1);
        throw error;
      }
      return await this.ingestion.ingest(events, now, admitted);
    } catch (error) {
      // The budget's answer comes first, as when it was asked before the handler: a refused
      // request is a 429 (or the failure policy's 503) even if it was also invalid.
      await admitted;
      throw error;
    }
  }
}
