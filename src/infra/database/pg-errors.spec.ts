import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable, isUniqueViolation } from './pg-errors';

const failed = (driverError: object) =>
  new QueryFailedError('SELECT 1', [], Object.assign(new Error('x'), driverError));

describe('Postgres errors', () => {
  it.each([
    [
      'refused',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    ['terminated', new Error('Connection terminated unexpectedly')],
    ['pool timeout', new Error('timeout exceeded when trying to connect')],
    ['admin shutdown', failed({ code: '57P01' })],
    ['connection failure', failed({ code: '08006' })],
  ])('counts %s as the database being unavailable', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', failed({ code: '23505' })],
    ['a syntax error', failed({ code: '42601' })],
    ['a bug', new TypeError('x is undefined')],
    ['nothing', undefined],
  ])('does not count %s', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('still tells unique violations apart', () => {
    expect(isUniqueViolation(failed({ code: '23505' }))).toBe(true);
  });
});
