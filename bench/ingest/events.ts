import { randomUUID } from 'node:crypto';

const CUSTOMERS = 50;
const ENDPOINTS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/moderations'];
const MODELS = ['tally-small', 'tally-medium', 'tally-large'];

export interface GeneratedBody {
  body: string;
  eventIds: string[];
}

/**
 * A request body of `size` fresh events (a bare object when size is 1, as producers
 * send single events). Built from a template rather than JSON.stringify because the
 * generator shares the CPU with the servers it measures; every value is plain ASCII.
 */
export function generateBody(size: number): GeneratedBody {
  const timestamp = new Date().toISOString();
  const eventIds: string[] = [];
  const events: string[] = [];
  for (let i = 0; i < size; i++) {
    const eventId = randomUUID();
    eventIds.push(eventId);
    events.push(eventJson(eventId, timestamp));
  }
  const body = size === 1 ? events[0] : `[${events.join(',')}]`;
  return { body, eventIds };
}

function eventJson(eventId: string, timestamp: string): string {
  const inputTokens = pick(2000);
  const outputTokens = pick(800);
  return (
    `{"eventId":"${eventId}","timestamp":"${timestamp}",` +
    `"customerId":"customer-${pick(CUSTOMERS)}","apiEndpoint":"${ENDPOINTS[pick(ENDPOINTS.length)]}",` +
    `"metadata":{"tokens":${inputTokens + outputTokens},"inputTokens":${inputTokens},` +
    `"outputTokens":${outputTokens},"latencyMs":${20 + pick(1500)},"model":"${MODELS[pick(MODELS.length)]}"}}`
  );
}

function pick(bound: number): number {
  return Math.floor(Math.random() * bound);
}
