/** For unit tests: the variables loadConfig requires, with throwaway values. */
export const REQUIRED_ENV = {
  DATABASE_URL: 'postgres://u@h/db',
  REDIS_URL: 'redis://h',
  ADMIN_TOKEN: 'a'.repeat(16),
  API_KEY_SECRET: 's'.repeat(32),
  JWT_SECRET: 'j'.repeat(32),
  ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
} as const;
