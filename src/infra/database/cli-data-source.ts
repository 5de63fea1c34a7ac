import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source';

/** The data source the TypeORM CLI loads (`npm run migration:run`); the service builds its own. */
export default new DataSource(dataSourceOptions(process.env.DATABASE_URL ?? ''));
