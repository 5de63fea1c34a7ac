// What other features may import from redis-epoch/ (the rest is internal; .dependency-cruiser.cjs).
export { RedisEpoch } from './redis-epoch';
export { RedisEpochModule } from './redis-epoch.module';
export { EPOCH_LOCK_KEY } from './redis-epoch.sql';
