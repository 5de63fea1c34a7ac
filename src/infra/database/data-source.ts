import { DataSourceOptions } from 'typeorm';
import { migrations } from '../../../migrations';
/** The role the service's queries run as: subject to row-level security (migration RowLevelSecurity). */
export const APP_DB_ROLE = 'tally_app';
/** The role of work across tenants, taken for one transaction at a time by SystemDatabase. */
export const SYSTEM_DB_ROLE = 'tally_system';

/**
 * `entities` comes from the composition root (src/entities.ts), so this file knows no
 * feature; the migrations runner needs none. Without `role`, connections act as the user of the URL (the owner: migrations, seeds).
 * With it, every connection of the pool switches to that role as it opens, before the
 * pool hands it out, so no query of the service ever runs with the owner's rights.
 * `connectTimeoutMs` bounds the wait for a connection, new or from a busy pool (pg's
 * default is to wait forever).
 */
export function dataSourceOptions(
  url: string,
  {
    entities = [],
    poolSize = 10,
    role,
    connectTimeoutMs,
  }: {
    entities?: NonNullable<DataSourceOptions['entities']>;
    poolSize?: number;
    role?: string;
    connectTimeoutMs?: number;
  } = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    // Extensions are the migrations' business; the application role may not create them.
    installExtensions: role === undefined,
    extra: {
      max: poolSize,
      application_name: 'tally',
      ...(connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: connectTimeoutMs }),
      ...(role === undefined ? {} : { options: `-c role=${role}` }),
    },
  };
}
