import { problemSchema } from '../common/openapi/problem-responses';
import { customerIdSchema as customerId } from '../customers';
import { METRICS } from './metric';
import { PERIOD_PATTERN } from '../common/period/period';

/** Below 2^53 with room to add units, so Lua doubles and JS numbers count exactly. */
export const MAX_LIMIT = 1_000_000_000_000;
export const MAX_LIMITS_PER_METRIC = 5;

const metric = { enum: [...METRICS] } as const;
const algorithm = {
  enum: ['fixed', 'sliding'],
  description: 'fixed: resets at each period boundary; sliding: sliding-window counter.',
} as const;
const period = {
  type: 'string',
  pattern: PERIOD_PATTERN,
  description: 'A count and a unit s, m, h or d, e.g. 30s, 1h, 1d; at most 366d.',
} as const;

export const quotaLimitSchema = {
  type: 'object',
  required: ['limit', 'period', 'algorithm'],
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT },
    period,
    algorithm,
  },
} as const;

export const quotaLimitsSchema = {
  type: 'object',
  required: ['limits'],
  additionalProperties: false,
  properties: {
    limits: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_LIMITS_PER_METRIC,
      items: quotaLimitSchema,
      description: 'Every limit must hold; at most one per period.',
    },
  },
} as const;

/** PUT body as documented; validation picks one of the two shapes by the `limits` key. */
export const setQuotaBodySchema = { oneOf: [quotaLimitSchema, quotaLimitsSchema] } as const;

export const quotaDefinitionSchema = {
  type: 'object',
  properties: {
    customerId: { type: 'string', nullable: true, description: 'null for the tenant default' },
    metric,
    limits: { type: 'array', items: quotaLimitSchema },
  },
} as const;

export const consumeBodySchema = {
  type: 'object',
  required: ['customerId', 'metric', 'units'],
  additionalProperties: false,
  properties: {
    customerId,
    metric,
    units: { type: 'integer', minimum: 1, maximum: MAX_LIMIT },
  },
} as const;

export const statusQuerySchema = {
  type: 'object',
  required: ['customerId'],
  additionalProperties: false,
  properties: { customerId, metric: { ...metric, description: 'Default: every metric.' } },
} as const;

export const limitViewSchema = {
  type: 'object',
  properties: {
    metric,
    period,
    algorithm,
    limit: { type: 'integer' },
    remaining: { type: 'integer' },
    resetAt: {
      type: 'string',
      format: 'date-time',
      description: 'When the whole limit is available again if nothing more is consumed.',
    },
    source: { enum: ['customer', 'default'] },
  },
} as const;

const decisionProperties = {
  allowed: { type: 'boolean' },
  enforced: {
    type: 'boolean',
    description: 'false: Redis was unreachable and the fail-open policy allowed the call.',
  },
  limit: { type: 'integer', nullable: true, description: 'null when no limit applies.' },
  remaining: { type: 'integer', nullable: true },
  resetAt: { type: 'string', format: 'date-time', nullable: true },
  limits: { type: 'array', items: limitViewSchema },
} as const;

export const consumeResultSchema = {
  type: 'object',
  description: 'limit, remaining and resetAt are those of the limit nearest to exhaustion.',
  properties: decisionProperties,
} as const;

export const quotaExceededSchema = {
  type: 'object',
  description: 'problem+json; limit, remaining and resetAt are those of `exceeded`.',
  properties: {
    ...problemSchema.properties,
    ...decisionProperties,
    retryAt: {
      type: 'string',
      format: 'date-time',
      nullable: true,
      description: 'Earliest time the same call can pass; null if it asks for more than the limit.',
    },
    exceeded: limitViewSchema,
  },
} as const;

export const quotaStatusSchema = {
  type: 'object',
  properties: { customerId: { type: 'string' }, limits: { type: 'array', items: limitViewSchema } },
} as const;
