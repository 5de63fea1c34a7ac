import { Controller, Get, Query, Inject } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
import { validateQuery } from '../common/validation/validate-body';
import { RequireScope } from '../common/access/auth.decorators';
import { TenantContext } from '../common/access/tenant-context';
import { AnalyticsService, type EventsPage, type EventsParams } from './analytics.service';
import { eventsPageSchema, eventsQuerySchema } from './usage.schemas';

const validateEvents = validateQuery<EventsParams>(eventsQuerySchema);

/** Reading raw events; POST /v1/events (ingestion) shares the path. */
@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly analytics: AnalyticsService,
    private readonly context: TenantContext,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiQuery({ name: 'customerId', required: true })
  @ApiQuery({ name: 'from', required: false, description: 'ISO time, inclusive (event timestamp)' })
  @ApiQuery({ name: 'to', required: false, description: 'ISO time, exclusive; default now' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', default: 100 } })
  @ApiQuery({ name: 'cursor', required: false })
  @Endpoint({
    id: 'listEvents',
    summary: "Read a customer's raw events",
    description: 'The events as stored, by timestamp, cursor-paginated (within the retention).',
    access: 'key',
    problems: [400],
  })
  @ApiOkResponse({
    description: "One customer's raw events by timestamp, cursor-paginated.",
    schema: namedSchema('EventPage', eventsPageSchema),
  })
  async list(@Query() query: unknown): Promise<EventsPage> {
    return this.analytics.events(this.context.scope(), validateEvents(query), this.clock.now());
  }
}
