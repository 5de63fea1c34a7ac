/** A customer's external id: what events carry, unique within the tenant. */
export const customerIdSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[^\\u0000-\\u001f\\u007f]+$',
  description: 'The customer id that events carry.',
} as const;

export const customerParamSchema = {
  type: 'object',
  required: ['externalId'],
  properties: { externalId: customerIdSchema },
} as const;

const name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;
const email = {
  type: 'string',
  format: 'email',
  maxLength: 254,
  description: 'Stored encrypted; returned only to admin-scope credentials.',
} as const;

export const createCustomerSchema = {
  type: 'object',
  required: ['externalId'],
  additionalProperties: false,
  properties: {
    externalId: customerIdSchema,
    name,
    email,
    tenantId: { type: 'string', format: 'uuid', description: 'Optional; must match the key.' },
  },
} as const;

export const updateCustomerSchema = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: {
    name: { ...name, nullable: true },
    email: { ...email, nullable: true, description: `${email.description} null removes it.` },
  },
} as const;

export const listCustomersQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', maxLength: 512 },
    email: { ...email, description: 'Exact match, case-insensitive; admin scope only.' },
  },
} as const;

export const customerSchema = {
  type: 'object',
  properties: {
    externalId: { type: 'string' },
    name: { type: 'string', nullable: true },
    email: {
      type: 'string',
      nullable: true,
      description: 'Present only for admin-scope credentials.',
    },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    version: { type: 'integer' },
  },
} as const;

export const customerPageSchema = {
  type: 'object',
  properties: {
    data: { type: 'array', items: customerSchema },
    nextCursor: { type: 'string', nullable: true },
  },
} as const;
