import { QueryFailedError } from 'typeorm';
import { DomainError, ErrorCode } from '../../common/errors/domain-error';
import {
  DATABASE_RETRY_AFTER_SECONDS,
  DatabaseUnavailableError,
  isPostgresUnavailable,
  rethrowUnavailable,
} from './pg-errors';

/** An error as pg reports it: a message and, for server and socket errors, a code. */
function pgError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

/** As TypeORM hands a failed query back. */
function queryFailed(driverError: Error): QueryFailedError {
  return new QueryFailedError('SELECT 1', [], driverError);
}

describe('isPostgresUnavailable', () => {
  it.each([
    ['connection refused', pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['connection reset', pgError('read ECONNRESET', 'ECONNRESET')],
    ['host name gone', pgError('getaddrinfo ENOTFOUND postgres', 'ENOTFOUND')],
    ['connection failure (08006)', pgError('connection failure', '08006')],
    ['cannot connect (08001)', pgError('could not connect', '08001')],
    [
      'admin shutdown (57P01)',
      pgError('terminating connection due to administrator command', '57P01'),
    ],
    ['crash shutdown (57P02)', pgError('terminating connection because of crash', '57P02')],
    ['starting up (57P03)', pgError('the database system is starting up', '57P03')],
    ['no connection slot (53300)', pgError('sorry, too many clients already', '53300')],
    ['session ended', pgError('Connection terminated unexpectedly')],
    ['pool wait timed out', pgError('timeout exceeded when trying to connect')],
    [
      'connect timed out, with its cause',
      new Error('Connection terminated due to connection timeout', {
        cause: pgError('Connection terminated unexpectedly'),
      }),
    ],
    [
      'client already broken',
      pgError('Client has encountered a connection error and is not queryable'),
    ],
    ['a query on a dead socket, as TypeORM wraps it', queryFailed(pgError('write EPIPE', 'EPIPE'))],
    ['a query on a shut-down server', queryFailed(pgError('terminating connection', '57P01'))],
    [
      'both address families refused',
      new AggregateError([pgError('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''),
    ],
  ])('%s: unavailable', (_name, error) => {
    expect(isPostgresUnavailable(error)).toBe(true);
  });

  it.each([
    ['unique violation (23505)', queryFailed(pgError('duplicate key value', '23505'))],
    ['syntax error (42601)', queryFailed(pgError('syntax error at or near', '42601'))],
    ['division by zero (22012)', queryFailed(pgError('division by zero', '22012'))],
    ['serialization failure (40001)', queryFailed(pgError('could not serialize', '40001'))],
    ['statement cancelled (57014)', queryFailed(pgError('canceling statement', '57014'))],
    ['a class-08 lookalike that is not a SQLSTATE', pgError('x', '0800')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['not an error at all', 'ECONNREFUSED'],
  ])('%s: not unavailable', (_name, error) => {
    expect(isPostgresUnavailable(error)).toBe(false);
  });
});

describe('rethrowUnavailable', () => {
  it('turns an unavailability into a 503 domain error with Retry-After, keeping the cause for logs', () => {
    const cause = pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');
    let thrown: unknown;
    try {
      rethrowUnavailable(cause);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DatabaseUnavailableError);
    const error = thrown as DatabaseUnavailableError;
    expect(error.code).toBe(ErrorCode.Unavailable);
    expect(error.extras.retryAfterSeconds).toBe(DATABASE_RETRY_AFTER_SECONDS);
    expect(error.detail).not.toContain('127.0.0.1');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.cause).toBe(cause);
  });

  it('rethrows anything else as it is', () => {
    const bug = queryFailed(pgError('division by zero', '22012'));
    expect(() => rethrowUnavailable(bug)).toThrow(bug);
  });

  it('leaves domain errors alone, also one translated already', () => {
    const inner = new DatabaseUnavailableError(pgError('read ECONNRESET', 'ECONNRESET'));
    expect(() => rethrowUnavailable(inner)).toThrow(inner);
    const notFound = new DomainError(ErrorCode.NotFound, 'No such thing.');
    expect(() => rethrowUnavailable(notFound)).toThrow(notFound);
  });
});
