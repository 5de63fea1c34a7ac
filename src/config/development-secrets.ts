/**
 * Secret values published in this repository for local use: `.env.example`, the
 * `${VAR:-default}`s of `docker-compose.yml` and `scripts/local-topology.sh`. Anyone can
 * read them, so `APP_PROFILE=prod` refuses to start with any of them. The one list:
 * `development-secrets.spec.ts` reads those files and fails if a default is missing here.
 */
export const DEVELOPMENT_SECRETS: ReadonlySet<string> = new Set([
  // ADMIN_TOKEN
  'local-admin-token-change-me',
  // API_KEY_SECRET
  'local-api-key-secret-change-me-0000000000',
  // JWT_SECRET
  'local-jwt-secret-change-me-0000000000000',
  // ENCRYPTION_KEY ("local-only-encryption-key-32-byt")
  'bG9jYWwtb25seS1lbmNyeXB0aW9uLWtleS0zMi1ieXQ=',
  // POSTGRES_PASSWORD (compose), the password of DATABASE_URL
  'tally-local-only',
  // GRAFANA_ADMIN_PASSWORD (compose; the app never reads it)
  'local-grafana-change-me',
]);

/** The variables `prod` checks against the list; ENCRYPTION_PREVIOUS_KEYS is not one (see operations.md). */
export const CHECKED_SECRETS = ['ADMIN_TOKEN', 'API_KEY_SECRET', 'JWT_SECRET', 'ENCRYPTION_KEY'];
