import { EVENT_ID } from './event-id';

const customerId = { type: 'string', minLength: 1, maxLength: 128 } as const;

export const streamQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    customerId: {
      anyOf: [customerId, { type: 'array', items: customerId, minItems: 1, maxItems: 100 }],
      description: 'Repeatable: only these customers (tenant-wide events always come).',
    },
    lastEventId: {
      type: 'string',
      pattern: EVENT_ID.source,
      description: 'Resume after this id, for clients that cannot send Last-Event-ID.',
    },
    ticket: { type: 'string', maxLength: 4096, description: 'From POST /v1/auth/stream-ticket.' },
  },
} as const;

export interface StreamQuery {
  customerId?: string | string[];
  lastEventId?: string;
  ticket?: string;
}
