// What other features may import from persistence/ (the rest is internal; .dependency-cruiser.cjs).
export { PersistenceModule } from './persistence.module';
export { StreamBacklog } from './stream-backlog';
