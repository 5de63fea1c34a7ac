const ids = (maxLength: number) =>
  ({
    type: 'array',
    items: { type: 'string', minLength: 1, maxLength },
    minItems: 1,
    maxItems: 100,
  }) as const;
const timezone = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  default: 'UTC',
  description: 'IANA name; day and month buckets follow it, DST included.',
} as const;

export const usageQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', format: 'date-time', description: 'Rounded down to its bucket.' },
    to: {
      type: 'string',
      format: 'date-time',
      description: 'Exclusive; rounded up to a bucket end. Default now.',
    },
    granularity: { enum: ['minute', 'hour', 'day', 'month'], default: 'hour' },
    timezone,
    groupBy: {
      type: 'array',
      items: { enum: ['customer', 'endpoint', 'model'] },
      uniqueItems: true,
      maxItems: 2,
      default: [],
    },
    customerId: ids(128),
    endpoint: ids(256),
    model: ids(128),
  },
} as const;

export const dailyQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { timezone },
} as const;

export const topQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
    hours: { type: 'integer', minimum: 1, maximum: 744, default: 24 },
    by: { enum: ['calls', 'tokens'], default: 'calls' },
    dimension: { enum: ['customer', 'endpoint', 'model'], default: 'customer' },
  },
} as const;

export const liveQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { customerId: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const eventsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['customerId'],
  properties: {
    customerId: { type: 'string', minLength: 1, maxLength: 128 },
    from: {
      type: 'string',
      format: 'date-time',
      description: 'Inclusive; default 24 h before `to`.',
    },
    to: { type: 'string', format: 'date-time', description: 'Exclusive; default now.' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', maxLength: 512 },
  },
} as const;

const freshness = {
  asOf: { type: 'string', format: 'date-time', description: 'The instant the counts are true at.' },
  includesOpenWindows: {
    type: 'boolean',
    description: 'Windows still open in Redis are counted; false when Redis could not be asked.',
  },
  openWindows: { type: 'integer', description: 'Windows counted from Redis rather than Postgres.' },
} as const;
const nullableInteger = { type: 'integer', nullable: true } as const;

export const usageAnswerSchema = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    granularity: { type: 'string' },
    timezone: { type: 'string' },
    groupBy: { type: 'array', items: { type: 'string' } },
    ...freshness,
    data: {
      type: 'array',
      description:
        'By bucket, then group. Without groupBy every bucket has a row; with it, groups with calls. ' +
        'Answers by endpoint or model carry calls and tokens only (the other measures are null).',
      items: {
        type: 'object',
        properties: {
          bucketStart: { type: 'string', format: 'date-time' },
          bucketEnd: { type: 'string', format: 'date-time' },
          customerId: { type: 'string' },
          endpoint: { type: 'string' },
          model: { type: 'string' },
          calls: { type: 'integer' },
          tokens: { type: 'integer' },
          inputTokens: nullableInteger,
          outputTokens: nullableInteger,
          avgLatencyMs: { type: 'number', nullable: true },
          lateEvents: nullableInteger,
        },
      },
    },
  },
} as const;

export const dailyAnswerSchema = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    timezone: { type: 'string' },
    ...freshness,
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          date: { type: 'string', format: 'date' },
          customerId: { type: 'string' },
          calls: { type: 'integer' },
          tokens: { type: 'integer' },
        },
      },
    },
  },
} as const;

export const topAnswerSchema = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    by: { type: 'string' },
    dimension: { type: 'string' },
    ...freshness,
    data: {
      type: 'array',
      items: {
        type: 'object',
        description: 'customerId, endpoint or model, as asked by `dimension`',
        properties: {
          customerId: { type: 'string' },
          endpoint: { type: 'string' },
          model: { type: 'string' },
          calls: { type: 'integer' },
          tokens: { type: 'integer' },
        },
      },
    },
  },
} as const;

const breakdown = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: { calls: { type: 'integer' }, tokens: { type: 'integer' } },
  },
} as const;

export const liveAnswerSchema = {
  type: 'object',
  properties: {
    asOf: { type: 'string', format: 'date-time' },
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          customerId: { type: 'string' },
          windows: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                windowStart: { type: 'string', format: 'date-time' },
                windowEnd: { type: 'string', format: 'date-time' },
                calls: { type: 'integer' },
                tokens: { type: 'integer' },
                inputTokens: { type: 'integer' },
                outputTokens: { type: 'integer' },
                avgLatencyMs: { type: 'number', nullable: true },
                lateEvents: { type: 'integer' },
                byEndpoint: breakdown,
                byModel: breakdown,
              },
            },
          },
        },
      },
    },
  },
} as const;

export const eventsPageSchema = {
  type: 'object',
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          eventId: { type: 'string' },
          timestamp: { type: 'string', format: 'date-time' },
          customerId: { type: 'string' },
          apiEndpoint: { type: 'string' },
          metadata: { type: 'object' },
          receivedAt: { type: 'string', format: 'date-time' },
        },
      },
    },
    nextCursor: { type: 'string', nullable: true },
  },
} as const;
