export const listWindowsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    customerId: { type: 'string', minLength: 1, maxLength: 128 },
    from: { type: 'string', format: 'date-time', description: 'Inclusive; default 24 h ago.' },
    to: { type: 'string', format: 'date-time', description: 'Exclusive; default now.' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', maxLength: 512 },
  },
} as const;

const breakdown = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: { calls: { type: 'integer' }, tokens: { type: 'integer' } },
  },
} as const;

export const windowSchema = {
  type: 'object',
  properties: {
    windowStart: { type: 'string', format: 'date-time' },
    windowEnd: { type: 'string', format: 'date-time' },
    tenantId: { type: 'string', format: 'uuid' },
    customerId: { type: 'string' },
    version: { type: 'integer' },
    aggregations: {
      type: 'object',
      properties: {
        totalCalls: { type: 'integer' },
        totalTokens: { type: 'integer' },
        totalInputTokens: { type: 'integer' },
        totalOutputTokens: { type: 'integer' },
        avgLatencyMs: { type: 'number', nullable: true },
        lateEvents: { type: 'integer' },
        byEndpoint: breakdown,
        byModel: breakdown,
      },
    },
  },
} as const;

export const windowPageSchema = {
  type: 'object',
  properties: {
    data: { type: 'array', items: windowSchema },
    nextCursor: { type: 'string', nullable: true },
  },
} as const;
