import { DomainError, ErrorCode } from '../errors/domain-error';
import { validateBody, validateQuery } from './validate-body';

function refusal(check: () => unknown): DomainError {
  try {
    check();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('validateBody and validateQuery', () => {
  const body = validateBody<{ name: string; tags?: string[] }>({
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1 },
      tags: { type: 'array', items: { type: 'string' } },
    },
  });
  const query = validateQuery<{ customerId?: string; limit: number }>({
    type: 'object',
    additionalProperties: false,
    properties: {
      customerId: { type: 'string' },
      limit: { type: 'integer', default: 10 },
    },
  });

  it('returns the typed value, coercing and defaulting a query', () => {
    expect(body({ name: 'acme', tags: ['a'] })).toEqual({ name: 'acme', tags: ['a'] });
    expect(query({ limit: '5' })).toEqual({ limit: 5 });
    expect(query({})).toEqual({ limit: 10 });
  });

  it('checks a query as coerced: a number no JSON could hold is refused', () => {
    const bounded = validateQuery<{ limit: number }>({
      type: 'object',
      properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } },
    });
    for (const limit of ['Infinity', '-Infinity', '1e400']) {
      expect(refusal(() => bounded({ limit })).extras.errors).toEqual([
        { path: '/limit', message: 'must be integer' },
      ]);
    }
    expect(refusal(() => bounded({ limit: '5000' })).extras.errors).toEqual([
      { path: '/limit', message: 'must be <= 1000' },
    ]);
    expect(bounded({ limit: '1e2' })).toEqual({ limit: 100 });
  });

  it('refuses a string Postgres cannot store, with a 400 naming the field', () => {
    const error = refusal(() => body({ name: 'a\u0000b', tags: ['ok', 'x\ud800'] }));
    expect(error.code).toBe(ErrorCode.ValidationFailed);
    expect(error.extras.errors).toEqual([
      { path: '/name', message: expect.stringMatching(/NUL/) },
      { path: '/tags/1', message: expect.stringMatching(/surrogate/) },
    ]);
    expect(refusal(() => query({ customerId: '\u0000' })).extras.errors).toEqual([
      { path: '/customerId', message: expect.stringMatching(/cannot be stored/) },
    ]);
  });

  it('reports unstorable text beside the schema errors, one message per field', () => {
    const error = refusal(() => body({ name: '', extra: '\u0000' }));
    expect(error.extras.errors).toEqual([
      { path: '/extra', message: expect.stringMatching(/cannot be stored/) },
      { path: '/name', message: expect.stringMatching(/fewer than 1/) },
    ]);
  });
});
