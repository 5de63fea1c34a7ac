// What other features may import from auth/ (the rest is internal; .dependency-cruiser.cjs).
export { AuthModule } from './auth.module';
export { Authenticator } from './authenticator';
