import { DateTime } from 'luxon';
import { DomainError } from '../common/errors/domain-error';
import { bucketBounds, dateInZone, isoInZone, zoneOf } from './buckets';

const at = Date.parse;
const limits = { windowMs: 30_000, maxBuckets: 100 };

describe('bucket bounds', () => {
  it('refuses a range whose whole buckets would reach beyond years 0001-9999 (400, not a 500)', () => {
    const utc = zoneOf('UTC');
    const refusal = (from: string, to: string, zone = utc) => {
      try {
        bucketBounds(at(from), at(to), 'hour', zone, limits);
      } catch (error) {
        return (error as DomainError).extras.errors?.[0]?.path;
      }
      return 'accepted';
    };
    expect(refusal('9999-12-31T22:00:00Z', '9999-12-31T23:59:59.999Z')).toBe('/to');
    expect(refusal('0001-01-01T00:00:00Z', '0001-01-01T03:00:00Z', zoneOf('Asia/Kolkata'))).toBe(
      '/from',
    );
    expect(refusal('9999-12-31T22:00:00Z', '9999-12-31T23:00:00Z')).toBe('accepted');
  });

  it('rounds the range out to whole local days, 25 hours on the day DST ends in Berlin', () => {
    const berlin = zoneOf('Europe/Berlin');
    const bounds = bucketBounds(
      at('2026-10-24T12:00:00Z'),
      at('2026-10-25T12:00:00Z'),
      'day',
      berlin,
      limits,
    );
    expect(bounds.map((ms) => isoInZone(ms, berlin))).toEqual([
      '2026-10-24T00:00:00.000+02:00',
      '2026-10-25T00:00:00.000+02:00',
      '2026-10-26T00:00:00.000+01:00',
    ]);
    expect(bounds[2] - bounds[1]).toBe(25 * 3_600_000);
    expect(dateInZone(bounds[1], berlin)).toBe('2026-10-25');
  });

  it('starts Kolkata hours on :30 UTC and months on the local first', () => {
    const kolkata = zoneOf('Asia/Kolkata');
    const hours = bucketBounds(
      at('2026-11-20T05:00:00Z'),
      at('2026-11-20T06:00:00Z'),
      'hour',
      kolkata,
      limits,
    );
    expect(hours.map((ms) => new Date(ms).toISOString())).toEqual([
      '2026-11-20T04:30:00.000Z',
      '2026-11-20T05:30:00.000Z',
      '2026-11-20T06:30:00.000Z',
    ]);
    const months = bucketBounds(
      at('2026-11-20T00:00:00Z'),
      at('2026-11-21T00:00:00Z'),
      'month',
      kolkata,
      limits,
    );
    expect(months.map((ms) => isoInZone(ms, kolkata))).toEqual([
      '2026-11-01T00:00:00.000+05:30',
      '2026-12-01T00:00:00.000+05:30',
    ]);
  });

  it('formats boundaries as luxon does, offsets and all (UTC as Z)', () => {
    for (const name of ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'America/St_Johns', 'Etc/GMT+5']) {
      const zone = zoneOf(name);
      for (
        let ms = at('2026-03-01T00:00:00Z');
        ms < at('2026-12-01T00:00:00Z');
        ms += 86_400_000 + 3_599_000
      ) {
        const luxon = DateTime.fromMillis(ms, { zone });
        const iso = luxon.toISO()!;
        expect(isoInZone(ms, zone)).toBe(name === 'UTC' ? iso.replace('+00:00', 'Z') : iso);
        expect(dateInZone(ms, zone)).toBe(luxon.toISODate());
      }
    }
  });

  it('refuses too many buckets before making them, and an unknown zone, as 400s', () => {
    const utc = zoneOf('UTC');
    expect(() => bucketBounds(0, 365 * 86_400_000, 'minute', utc, limits)).toThrow(DomainError);
    expect(() => zoneOf('Mars/Olympus')).toThrow("'Mars/Olympus' is not an IANA time zone.");
  });

  it('refuses buckets that would split a window', () => {
    const utc = zoneOf('UTC');
    expect(() =>
      bucketBounds(0, 3_600_000, 'minute', utc, { windowMs: 45_000, maxBuckets: 100 }),
    ).toThrow('do not start on 45-second window boundaries');
  });
});
