import { DataSource } from 'typeorm';
import { entities } from './entities';
import { dataSourceOptions } from './infra/database/data-source';

/** The data source the TypeORM CLI loads (`npm run migration:run`); the service builds its own. */
export default new DataSource(dataSourceOptions(process.env.DATABASE_URL ?? '', { entities }));
