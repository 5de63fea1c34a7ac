/**
 * Settings every benchmark that runs the app in its own process needs and none
 * measures: throwaway secrets and the quiet `test` profile.
 */
export const BENCH_APP_ENV = {
  ADMIN_TOKEN: 'bench-admin-token-0000',
  API_KEY_SECRET: 'bench-api-key-secret-0000000000000000',
  JWT_SECRET: 'bench-jwt-secret-000000000000000000000',
  ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
  APP_PROFILE: 'test',
} as const;
