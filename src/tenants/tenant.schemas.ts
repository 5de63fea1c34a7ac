import { SCOPES } from '../common/access/scope';

const name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;

export const createTenantSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name },
} as const;

export const updateTenantSchema = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: {
    active: {
      type: 'boolean',
      description: "false: the tenant's keys and tokens get 403 (within API_KEY_CACHE_SECONDS).",
    },
    name,
  },
} as const;

export const listTenantsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', maxLength: 512 },
  },
} as const;

export const tenantSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    active: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    version: { type: 'integer' },
  },
} as const;

export const tenantPageSchema = {
  type: 'object',
  properties: {
    data: { type: 'array', items: tenantSchema },
    nextCursor: { type: 'string', nullable: true },
  },
} as const;

export const createdTenantSchema = {
  type: 'object',
  properties: {
    tenant: tenantSchema,
    apiKey: {
      type: 'object',
      properties: {
        id: { type: 'string', format: 'uuid' },
        key: { type: 'string', example: 'tly_ab12cd34_…' },
        prefix: { type: 'string' },
        scopes: { type: 'array', items: { enum: [...SCOPES] } },
      },
    },
  },
} as const;
