// What other features may import from api-keys/ (the rest is internal; .dependency-cruiser.cjs).
export { firstKeyView } from './api-key-view';
export { accessTokenSchema, streamTicketSchema } from './api-key.schemas';
export { ApiKeysModule } from './api-keys.module';
export { ApiKeysService } from './api-keys.service';
export type { CreatedKey, KeyState } from './api-keys.service';
