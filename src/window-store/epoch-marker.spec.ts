import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import { lossHorizon, parseMarker } from './epoch-marker';

describe('the Redis epoch marker', () => {
  const id = '2de50a5a-1609-4d56-8a9f-0862d30512e8';

  it('reads the id and the start of an epoch', () => {
    expect(parseMarker(`${id}:1795560000123`)).toEqual({
      id,
      startedAtMs: 1_795_560_000_123,
      raw: `${id}:1795560000123`,
    });
  });

  it.each([null, '', id, `${id}:`, `${id}:12x`, `not-an-id:1795560000123`])(
    'takes %p for no epoch of ours',
    (raw) => expect(parseMarker(raw)).toBeNull(),
  );
});

describe('what a Redis data loss leaves to recompute', () => {
  // 30 s windows, 5 s grace, 15 min max lateness, 10 min dedup margin, 5 min future skew.
  const config = loadConfig({ ...REQUIRED_ENV });
  const start = Date.parse('2026-12-03T10:00:07.250Z');

  it('reaches back as far as any window hash lived: end + max lateness + margin', () => {
    const { recoverFromMs } = lossHorizon(start, config);
    // 10:00:07.25 − 15 min − 10 min = 09:35:07.25, inside the window that starts at 09:35:00
    // and ends after it; the one before ended at 09:35:00, before any hash of it could live.
    expect(new Date(recoverFromMs).toISOString()).toBe('2026-12-03T09:35:00.000Z');
  });

  it('hands Postgres every window an event accepted before the loss can be in', () => {
    const { ownedBeforeMs } = lossHorizon(start, config);
    // Accepted before 10:00:07.25, stamped at most 5 min (+ 5 s of clock difference)
    // later: 10:05:12.25, whose window ends at 10:05:30.
    expect(new Date(ownedBeforeMs).toISOString()).toBe('2026-12-03T10:05:30.000Z');
  });
});
