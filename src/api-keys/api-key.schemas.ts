import { PERIOD_PATTERN } from '../common/period/period';
import { SCOPES } from '../common/access/scope';

const scopes = {
  type: 'array',
  items: { enum: [...SCOPES] },
  minItems: 1,
  uniqueItems: true,
} as const;

const keyRateLimit = {
  type: 'object',
  required: ['limit', 'period'],
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
    period: { type: 'string', pattern: PERIOD_PATTERN, description: 'e.g. `1h`, `30s`, `1d`.' },
  },
} as const;

const rateLimits = {
  type: 'object',
  additionalProperties: false,
  description:
    "The key's own rate limits: `requests` (management and read routes, one unit a request) " +
    'and `events` (ingestion and quota checks, one unit an event). A class not named uses ' +
    'the configured default (API_KEY_RATE_*, API_KEY_EVENT_RATE_*).',
  properties: { requests: keyRateLimit, events: keyRateLimit },
} as const;

export const createApiKeySchema = {
  type: 'object',
  required: ['name', 'scopes'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
    scopes,
    rateLimits,
  },
} as const;

/** PATCH: the whole set of the key's own limits; `{}` returns it to the defaults. */
export const updateApiKeySchema = {
  type: 'object',
  required: ['rateLimits'],
  additionalProperties: false,
  properties: { rateLimits },
} as const;

const keyProperties = {
  id: { type: 'string', format: 'uuid' },
  name: { type: 'string' },
  prefix: { type: 'string', description: 'The 8 characters after `tly_`: how to recognise it.' },
  scopes,
  rateLimits,
  createdAt: { type: 'string', format: 'date-time' },
} as const;

export const createdApiKeySchema = {
  type: 'object',
  properties: {
    ...keyProperties,
    key: { type: 'string', example: 'tly_ab12cd34_…', description: 'Shown only here.' },
  },
} as const;

export const apiKeySchema = {
  type: 'object',
  properties: {
    ...keyProperties,
    lastUsedAt: { type: 'string', format: 'date-time', nullable: true },
    revokedAt: { type: 'string', format: 'date-time', nullable: true },
  },
} as const;

export const apiKeyListSchema = {
  type: 'object',
  properties: { data: { type: 'array', items: apiKeySchema } },
} as const;

export const accessTokenSchema = {
  type: 'object',
  properties: {
    accessToken: { type: 'string', description: 'A JWT (HS256); send as `Authorization: Bearer`.' },
    tokenType: { enum: ['Bearer'] },
    expiresIn: { type: 'integer', description: 'Seconds.' },
  },
} as const;

export const streamTicketSchema = {
  type: 'object',
  properties: {
    ticket: {
      type: 'string',
      description: 'Single use: `GET /v1/stream?ticket=<ticket>`; accepted by no other route.',
    },
    expiresIn: { type: 'integer', description: 'Seconds until it can no longer open a stream.' },
  },
} as const;
