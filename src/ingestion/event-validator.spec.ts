import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { EventValidator } from './event-validator';

const config = loadConfig({
  ...REQUIRED_ENV,
  INGEST_METADATA_LIMIT_BYTES: '200',
  INGEST_MAX_EVENTS_PER_REQUEST: '3',
});
const validator = new EventValidator(config);
const NOW = Date.parse('2026-11-21T10:00:00Z');
const base = {
  eventId: 'e-1',
  timestamp: '2026-11-21T09:59:59.500Z',
  customerId: 'c-42',
  apiEndpoint: '/api/completion',
};

function refusal(body: unknown): DomainError {
  try {
    validator.validate(body, 'tenant-a', NOW);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('EventValidator', () => {
  it('normalises an event: tokens default to input + output, extra metadata kept', () => {
    const [event] = validator.validate(
      { ...base, metadata: { inputTokens: 500, outputTokens: 1000, model: 'gpt-4', region: 'eu' } },
      'tenant-a',
      NOW,
    );
    expect(event).toEqual({
      eventId: 'e-1',
      timestampMs: Date.parse(base.timestamp),
      tenantId: 'tenant-a',
      customerId: 'c-42',
      endpoint: '/api/completion',
      tokens: 1500,
      inputTokens: 500,
      outputTokens: 1000,
      latencyMs: undefined,
      model: 'gpt-4',
      metadata: {
        inputTokens: 500,
        outputTokens: 1000,
        model: 'gpt-4',
        region: 'eu',
        tokens: 1500,
      },
    });
  });

  it('keeps explicit tokens', () => {
    const [event] = validator.validate(
      { ...base, metadata: { tokens: 7, inputTokens: 1 } },
      't',
      NOW,
    );
    expect(event.tokens).toBe(7);
  });

  it('paths a single-object body from the root and an array body by index', () => {
    expect(refusal({ ...base, eventId: '' }).extras.errors).toEqual([
      { path: '/eventId', message: expect.any(String) },
    ]);
    expect(refusal([base, { ...base, eventId: '' }]).extras.errors).toEqual([
      { path: '/1/eventId', message: expect.any(String) },
    ]);
  });

  it.each([
    [{ timestamp: '2026-11-21T10:05:00.001Z' }, '/timestamp', /future/],
    [{ timestamp: '2026-10-01T00:00:00Z' }, '/timestamp', /retention/],
    [{ timestamp: '2026-11-21 10:00' }, '/timestamp', /date-time/],
    [{ timestamp: '2026-11-20T23:59:60Z' }, '/timestamp', /exact instant.*leap second/],
    [{ timestamp: '0000-01-01T00:00:00Z' }, '/timestamp', /exact instant from 0001-01-01/],
    [{ metadata: { latencyMs: 1.5 } }, '/metadata/latencyMs', /integer/],
    [{ metadata: { outputTokens: -1 } }, '/metadata/outputTokens', />= 0/],
    [{ metadata: { blob: 'x'.repeat(300) } }, '/metadata', /exceeds 200 bytes/],
    [{ customerId: 'a\nb' }, '/customerId', /pattern/],
    [{ tenantId: 'not-a-uuid' }, '/tenantId', /uuid/],
  ])('refuses %j at %s', (change, path, message) => {
    const error = refusal({ ...base, ...change });
    expect(error.code).toBe(ErrorCode.ValidationFailed);
    expect(error.extras.errors).toEqual([{ path, message: expect.stringMatching(message) }]);
  });

  it('reads an offset timestamp as its exact instant, whatever form of offset', () => {
    const events = validator.validate(
      ['2026-11-21T14:59:59+05', '2026-11-21T15:29:59+0530', '2026-11-21 09:59:59z'].map(
        (timestamp, i) => ({ ...base, eventId: `e-${i}`, timestamp }),
      ),
      'tenant-a',
      NOW,
    );
    expect(events.map((e) => e.timestampMs)).toEqual([NOW - 1000, NOW - 1000, NOW - 1000]);
  });

  it('refuses what Postgres cannot store: NUL and unpaired surrogates, in metadata and labels', () => {
    const paths = (body: unknown) => (refusal(body).extras.errors ?? []).map((e) => e.path);
    expect(
      paths([
        { ...base, metadata: { note: 'a\u0000b' } },
        { ...base, metadata: { ['k\u0000']: 1 } },
        { ...base, metadata: { model: 'x\ud800' } },
      ]),
    ).toEqual(['/0/metadata/note', '/1/metadata/k\u0000', '/2/metadata/model']);
    expect(
      paths([
        { ...base, customerId: 'c\udc00' },
        { ...base, apiEndpoint: '/\ud800' },
      ]),
    ).toEqual(['/0/customerId', '/1/apiEndpoint']);
  });

  it('stores a surrogate pair and an escaped backslash-u as they are', () => {
    const [event] = validator.validate(
      { ...base, customerId: 'c-\ud83d\ude00', metadata: { note: '\\u0000 is text' } },
      'tenant-a',
      NOW,
    );
    expect(event.customerId).toBe('c-😀');
    expect(event.metadata.note).toBe('\\u0000 is text');
  });

  it('refuses an empty array and more events than allowed', () => {
    expect(refusal([]).code).toBe(ErrorCode.ValidationFailed);
    expect(refusal([base, base, base, base]).detail).toMatch(/1 to 3 events/);
  });

  it('refuses an event naming another tenant with 403, after field errors', () => {
    const other = { ...base, tenantId: '6d3f4c1e-9a51-4c5f-8d2e-111111111111' };
    expect(refusal([base, other]).code).toBe(ErrorCode.Forbidden);
    expect(refusal([other, { ...base, eventId: '' }]).code).toBe(ErrorCode.ValidationFailed);
  });
});
