import { SCOPES } from './scope';

export const createTenantSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } },
} as const;

export const createdTenantSchema = {
  type: 'object',
  properties: {
    tenant: {
      type: 'object',
      properties: {
        id: { type: 'string', format: 'uuid' },
        name: { type: 'string' },
        active: { type: 'boolean' },
        createdAt: { type: 'string', format: 'date-time' },
      },
    },
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
