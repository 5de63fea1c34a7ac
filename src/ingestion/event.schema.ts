const count = { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } as const;
const label = (maxLength: number) =>
  ({ type: 'string', minLength: 1, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }) as const;

/** One metering event as producers send it; also the OpenAPI schema of the request body. */
export const meteringEventSchema = {
  type: 'object',
  required: ['eventId', 'timestamp', 'customerId', 'apiEndpoint'],
  additionalProperties: false,
  properties: {
    eventId: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      pattern: '^[\\u0021-\\u007e]+$',
      description: 'Producer-chosen unique id (a UUID is recommended); the dedup key.',
    },
    timestamp: {
      type: 'string',
      format: 'date-time',
      description:
        'RFC 3339 time of the call, with a zone (`Z` or an offset). It must name an exact ' +
        'instant from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z: a leap second ' +
        '(`23:59:60`) is refused with a 400, not moved to a neighbouring second. Kept to ' +
        'the millisecond; further digits are dropped.',
    },
    tenantId: { type: 'string', format: 'uuid', description: 'Optional; must match the key.' },
    customerId: label(128),
    apiEndpoint: label(512),
    metadata: {
      type: 'object',
      description: 'Counts are non-negative integers; extra keys are kept (size-capped).',
      properties: {
        tokens: { ...count, description: 'Defaults to inputTokens + outputTokens.' },
        inputTokens: count,
        outputTokens: count,
        latencyMs: count,
        model: label(128),
      },
    },
  },
} as const;
