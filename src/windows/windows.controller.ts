import { Controller, Get, Query, Inject } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
import { validateQuery } from '../common/validation/validate-body';
import { RequireScope } from '../common/access/auth.decorators';
import { TenantContext } from '../common/access/tenant-context';
import { listWindowsQuerySchema, windowPageSchema } from './windows.schemas';
import { ListWindowsParams, WindowPage, WindowsService } from './windows.service';

const validateListQuery = validateQuery<ListWindowsParams>(listWindowsQuerySchema);

@ApiTags('windows')
@Controller('v1/windows')
export class WindowsController {
  constructor(
    private readonly windows: WindowsService,
    private readonly context: TenantContext,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiQuery({ name: 'customerId', required: false })
  @ApiQuery({
    name: 'from',
    required: false,
    description:
      'Window start, inclusive: an RFC 3339 date-time naming an exact instant (as event timestamps)',
  })
  @ApiQuery({ name: 'to', required: false, description: 'Window start, exclusive; the same form' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', default: 100 } })
  @ApiQuery({ name: 'cursor', required: false })
  @Endpoint({
    id: 'listWindows',
    summary: 'List closed windows',
    description:
      'The aggregation windows flushed to Postgres (WINDOW_SECONDS each), per customer and ' +
      'endpoint, by start time, cursor-paginated.',
    access: 'key',
    problems: [400],
  })
  @ApiOkResponse({ schema: namedSchema('WindowPage', windowPageSchema) })
  async list(@Query() query: unknown): Promise<WindowPage> {
    return this.windows.list(this.context.scope(), validateListQuery(query), this.clock.now());
  }
}
