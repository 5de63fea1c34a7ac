import { formatPeriod, PERIOD_PATTERN, periodSeconds } from './period';

describe('periods', () => {
  it.each([
    ['30s', 30],
    ['1m', 60],
    ['90m', 5_400],
    ['1h', 3_600],
    ['1d', 86_400],
  ])('reads %s as %d seconds', (text, seconds) => {
    expect(new RegExp(PERIOD_PATTERN).test(text)).toBe(true);
    expect(periodSeconds(text)).toBe(seconds);
  });

  it.each(['0s', '1.5h', '1w', 'h', '1h30m', '-1s', ' 1s'])('rejects %j', (text) => {
    expect(new RegExp(PERIOD_PATTERN).test(text)).toBe(false);
  });

  it.each([
    [30, '30s'],
    [60, '1m'],
    [5_400, '90m'],
    [7_200, '2h'],
    [172_800, '2d'],
    [90_061, '90061s'],
  ])('spells %d seconds as %s', (seconds, text) => {
    expect(formatPeriod(seconds)).toBe(text);
  });
});
