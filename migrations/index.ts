import { InitialSchema1763740800000 } from './1763740800000-InitialSchema';

/** Every migration, in order; listed explicitly so the runner never depends on a glob. */
export const migrations = [InitialSchema1763740800000];
