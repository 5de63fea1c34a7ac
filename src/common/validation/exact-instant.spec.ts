import fc from 'fast-check';
import { DomainError } from '../errors/domain-error';
import { MAX_INSTANT_MS, MIN_INSTANT_MS, parseInstant, DATE_TIME_RULE } from './exact-instant';
import { validateBody, validateQuery } from './validate-body';

describe('parseInstant', () => {
  it.each([
    ['2026-11-21T10:00:03.120Z', Date.UTC(2026, 10, 21, 10, 0, 3, 120)],
    ['2026-11-21t10:00:03z', Date.UTC(2026, 10, 21, 10, 0, 3)],
    ['2026-11-21 10:00:03Z', Date.UTC(2026, 10, 21, 10, 0, 3)],
    ['2026-11-21T15:30:03+05:30', Date.UTC(2026, 10, 21, 10, 0, 3)],
    ['2026-11-21T15:30:03+0530', Date.UTC(2026, 10, 21, 10, 0, 3)],
    ['2026-11-21T15:00:03+05', Date.UTC(2026, 10, 21, 10, 0, 3)],
    ['2026-11-21T10:00:03-00:00', Date.UTC(2026, 10, 21, 10, 0, 3)],
    ['2026-11-21T10:00:03.123999999Z', Date.UTC(2026, 10, 21, 10, 0, 3, 123)],
    ['2026-11-21T10:00:03.5Z', Date.UTC(2026, 10, 21, 10, 0, 3, 500)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['0001-01-01T00:00:00Z', MIN_INSTANT_MS],
    ['9999-12-31T23:59:59.999Z', MAX_INSTANT_MS],
    ['9999-12-31T23:59:59.9999Z', MAX_INSTANT_MS],
  ])('reads %s as its instant', (text, ms) => {
    expect(parseInstant(text)).toBe(ms);
  });

  it.each([
    ['a leap second', '2026-11-30T23:59:60Z'],
    ['a leap second written with an offset', '2026-12-01T00:59:60+01:00'],
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['year 1 turned into year 0 by its offset', '0001-01-01T00:30:00+01:00'],
    ['year 9999 turned into 10000 by its offset', '9999-12-31T23:30:00-01:00'],
    ['a five-digit year', '10000-01-01T00:00:00Z'],
    ['a day the calendar lacks', '2026-02-29T00:00:00Z'],
    ['hour 24', '2026-11-21T24:00:00Z'],
    ['minute 60', '2026-11-21T10:60:00Z'],
    ['no zone', '2026-11-21T10:00:00'],
    ['an offset of 24 hours', '2026-11-21T10:00:00+24:00'],
    ['a tab for the separator', '2026-11-21\t10:00:00Z'],
    ['a date alone', '2026-11-21'],
  ])('refuses %s', (_, text) => {
    expect(parseInstant(text)).toBeUndefined();
  });

  it('reads back every instant of the range as toISOString writes it', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_INSTANT_MS, max: MAX_INSTANT_MS }), (ms) => {
        expect(parseInstant(new Date(ms).toISOString())).toBe(ms);
      }),
    );
  });

  it('reads the same instant whatever offset it is written in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2100, 0, 1) }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        (ms, offset) => {
          const local = new Date(ms + offset * 60_000).toISOString().slice(0, -1);
          const abs = Math.abs(offset);
          const zone = `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
          expect(parseInstant(local + zone)).toBe(ms);
        },
      ),
    );
  });
});

describe('the date-time format of every validator', () => {
  const body = validateBody<{ at: string }>({
    type: 'object',
    properties: { at: { type: 'string', format: 'date-time' } },
  });
  const query = validateQuery<{ at: string }>({
    type: 'object',
    properties: { at: { type: 'string', format: 'date-time' } },
  });

  it.each([
    ['body', body],
    ['query', query],
  ])('refuses what has no exact instant in a %s, naming the rule', (_, validate) => {
    for (const at of ['2026-11-30T23:59:60Z', '0000-01-01T00:00:00Z', '2026-11-21T10:00:00']) {
      const error = catchError(() => validate({ at }));
      expect(error.extras.errors).toEqual([{ path: '/at', message: DATE_TIME_RULE }]);
    }
    expect(validate({ at: '2026-11-21T10:00:00+05' })).toEqual({ at: '2026-11-21T10:00:00+05' });
  });
});

function catchError(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
