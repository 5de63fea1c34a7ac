import { Controller, Get, Query, Inject } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { openApi } from '../common/openapi/json-schema';
import { ProblemResponses } from '../common/openapi/problem-responses';
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
  @ApiOkResponse({ schema: openApi(windowPageSchema) })
  @ProblemResponses(400, 401, 403)
  async list(@Query() query: unknown): Promise<WindowPage> {
    return this.windows.list(this.context.scope(), validateListQuery(query), this.clock.now());
  }
}
