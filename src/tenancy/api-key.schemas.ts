import { SCOPES } from './scope';

const scopes = {
  type: 'array',
  items: { enum: [...SCOPES] },
  minItems: 1,
  uniqueItems: true,
} as const;

export const createApiKeySchema = {
  type: 'object',
  required: ['name', 'scopes'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
    scopes,
  },
} as const;

const keyProperties = {
  id: { type: 'string', format: 'uuid' },
  name: { type: 'string' },
  prefix: { type: 'string', description: 'The 8 characters after `tly_`: how to recognise it.' },
  scopes,
  createdAt: { type: 'string', format: 'date-time' },
} as const;

export const createdApiKeySchema = {
  type: 'object',
  properties: {
    ...keyProperties,
    key: { type: 'string', example: 'tly_ab12cd34_…', description: 'Shown only here.' },
  },
} as const;

export const apiKeyListSchema = {
  type: 'object',
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          ...keyProperties,
          lastUsedAt: { type: 'string', format: 'date-time', nullable: true },
          revokedAt: { type: 'string', format: 'date-time', nullable: true },
        },
      },
    },
  },
} as const;

export const accessTokenSchema = {
  type: 'object',
  properties: {
    accessToken: { type: 'string', description: 'A JWT (HS256); send as `Authorization: Bearer`.' },
    tokenType: { enum: ['Bearer'] },
    expiresIn: { type: 'integer', description: 'Seconds.' },
  },
} as const;
