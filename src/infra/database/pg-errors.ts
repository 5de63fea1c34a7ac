import { QueryFailedError } from 'typeorm';

/** Postgres `23505`: the row would repeat a unique key. Repositories turn it into a Conflict. */
export function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof QueryFailedError &&
    (error.driverError as { code?: unknown } | undefined)?.code === '23505'
  );
}
