import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { namedSchema } from '../common/openapi/component-schemas';
import { Endpoint } from '../common/openapi/endpoint';
import { validateBody, validateQuery } from '../common/validation/validate-body';
import { RequireScope } from '../common/access/auth.decorators';
import { customerParam } from './customer-param';
import {
  createCustomerSchema,
  customerPageSchema,
  customerSchema,
  listCustomersQuerySchema,
  updateCustomerSchema,
} from './customer.schemas';
import {
  Audience,
  CustomerChanges,
  CustomerListQuery,
  CustomersService,
  CustomerView,
  NewCustomer,
} from './customers.service';
import { TenantContext } from '../common/access/tenant-context';

const validateCreate = validateBody<NewCustomer & { tenantId?: string }>(createCustomerSchema);
const validateUpdate = validateBody<CustomerChanges>(updateCustomerSchema);
const validateList = validateQuery<CustomerListQuery>(listCustomersQuerySchema);

/**
 * A tenant's customers. Reads need `read`, writes `admin`; the email is only ever shown
 * to, and searched by, `admin` credentials: a read-only key learns nothing about it.
 */
@ApiTags('customers')
@Controller('v1/customers')
export class CustomersController {
  constructor(
    private readonly customers: CustomersService,
    private readonly context: TenantContext,
  ) {}

  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  @Endpoint({
    id: 'createCustomer',
    summary: 'Create a customer',
    description:
      'A customer of the tenant, by its external id. Ingesting an event for an unknown customer ' +
      'creates it too: then this answers 409 and PATCH sets the name and email.',
    access: 'key',
    body: true,
    problems: [409],
  })
  @ApiBody({
    schema: namedSchema('CreateCustomerRequest', createCustomerSchema),
    examples: {
      customer: { value: { externalId: 'c-43', name: 'Acme Corp', email: 'billing@acme.example' } },
    },
  })
  @ApiCreatedResponse({ schema: namedSchema('Customer', customerSchema) })
  create(@Body() body: unknown): Promise<CustomerView> {
    const { tenantId, ...customer } = validateCreate(body);
    const scope = this.context.scope();
    if (tenantId !== undefined && tenantId !== scope.tenantId) {
      throw new DomainError(ErrorCode.Forbidden, 'The body names another tenant than the key.', {
        errors: [{ path: '/tenantId', message: 'does not match the API key tenant' }],
      });
    }
    return this.customers.create(scope, customer, this.audience());
  }

  @Get()
  @RequireScope('read')
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', default: 100 } })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'email', required: false, description: 'Exact match; admin scope only.' })
  @Endpoint({
    id: 'listCustomers',
    summary: 'List customers',
    description: 'By externalId, cursor-paginated; `email` searches (admin scope only).',
    access: 'key',
    problems: [400],
  })
  @ApiOkResponse({
    schema: namedSchema('CustomerPage', customerPageSchema),
    description: 'By externalId.',
  })
  list(@Query() query: unknown) {
    const params = validateList(query);
    const audience = this.audience();
    if (params.email !== undefined && !audience.seesEmail) {
      throw new DomainError(ErrorCode.Forbidden, "Searching by email needs the 'admin' scope.");
    }
    return this.customers.list(this.context.scope(), params, audience);
  }

  @Get(':externalId')
  @RequireScope('read')
  @Endpoint({
    id: 'getCustomer',
    summary: 'Get a customer',
    description: 'The email only for admin-scope credentials.',
    access: 'key',
    problems: [400, 404],
  })
  @ApiOkResponse({ schema: namedSchema('Customer', customerSchema) })
  get(@Param('externalId') externalId: string): Promise<CustomerView> {
    return this.customers.get(this.context.scope(), customerParam(externalId), this.audience());
  }

  @Patch(':externalId')
  @RequireScope('admin')
  @Endpoint({
    id: 'updateCustomer',
    summary: 'Change a customer',
    description: 'Sets the name or the email; `null` removes either.',
    access: 'key',
    body: true,
    problems: [404],
  })
  @ApiBody({
    schema: namedSchema('UpdateCustomerRequest', updateCustomerSchema),
    examples: { rename: { value: { name: 'Acme Corporation' } } },
  })
  @ApiOkResponse({ schema: namedSchema('Customer', customerSchema) })
  update(@Param('externalId') externalId: string, @Body() body: unknown): Promise<CustomerView> {
    return this.customers.update(
      this.context.scope(),
      customerParam(externalId),
      validateUpdate(body),
      this.audience(),
    );
  }

  private audience(): Audience {
    return { seesEmail: this.context.has('admin') };
  }
}
