import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A key's own rate limits, per class (`requests`, `events`): `{"requests": {"limit": 5000,
 * "periodSeconds": 3600}}`. A class it does not name uses API_KEY_RATE_* / API_KEY_EVENT_*.
 */
export class ApiKeyRateLimits1795480000000 implements MigrationInterface {
  name = 'ApiKeyRateLimits1795480000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys ADD COLUMN rate_limits jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(rate_limits) = 'object')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN rate_limits`);
  }
}
