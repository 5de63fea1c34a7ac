import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { TenantDatabase } from '../src/infra/database/tenant-database';
import { tenantScope } from '../src/infra/database/tenant-scope';
import { createTenant, ensureCustomer, event, ingest, request } from './support/api';
import { eventually, TestStack } from './support/harness';

const TENANT_OWNED = [
  'api_keys',
  'customers',
  'usage_events',
  'aggregation_windows',
  'quotas',
  'usage_rollups',
  'usage_rollup_breakdowns',
];

/**
 * The last layer on its own: raw SQL as the application role, past every repository,
 * sees one tenant's rows when the transaction names that tenant, and none otherwise.
 */
describe('row-level security', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let a: string;
  let b: string;
  let asApp: Client;

  beforeAll(async () => {
    stack = await TestStack.create();
    app = await stack.start();
    for (const name of ['a', 'b']) {
      const { tenantId, key } = await createTenant(app, name);
      await ensureCustomer(app, key, `${name}-customer`);
      await request(app, 'PUT', `/v1/customers/${name}-customer/quotas/calls`, {
        headers: { 'x-api-key': key },
        body: { limit: 10, period: '1h', algorithm: 'fixed' },
      });
      await ingest(app, key, [
        event({
          timestamp: new Date().toISOString(),
          customerId: `${name}-customer`,
          apiEndpoint: '/x',
        }),
      ]);
      if (name === 'a') a = tenantId;
      else b = tenantId;
    }
    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT count(DISTINCT tenant_id)::int AS n FROM aggregation_windows',
      );
      expect(rows[0].n).toBe(2);
    });
    await eventually(async () => expect(await countAsOwner('usage_events')).toBe(2));
    // The role switch the service's pool makes on connect, done by hand.
    asApp = new Client({ connectionString: stack.env.DATABASE_URL, options: '-c role=tally_app' });
    await asApp.connect();
  });

  afterAll(async () => {
    await asApp.end();
    await stack.dispose();
  });

  async function countAsOwner(table: string): Promise<number> {
    return (await stack.pg.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
  }

  async function inTransaction<T>(setting: string | null, work: () => Promise<T>): Promise<T> {
    await asApp.query('BEGIN');
    try {
      if (setting === 'system') await asApp.query('SET LOCAL ROLE tally_system');
      else if (setting)
        await asApp.query(`SELECT set_config('app.tenant_id', $1, true)`, [setting]);
      return await work();
    } finally {
      await asApp.query('ROLLBACK');
    }
  }

  const tenantsOf = async (table: string) =>
    (await asApp.query(`SELECT DISTINCT tenant_id FROM ${table}`)).rows.map((r) => r.tenant_id);

  it.each(TENANT_OWNED)(
    '%s: the owner sees both tenants, the role only the one named',
    async (table) => {
      expect(
        (await stack.pg.query(`SELECT DISTINCT tenant_id FROM ${table}`)).rows
          .map((r) => r.tenant_id)
          .sort(),
      ).toEqual([a, b].sort());
      expect(await inTransaction(a, () => tenantsOf(table))).toEqual([a]);
      expect(await inTransaction(b, () => tenantsOf(table))).toEqual([b]);
      // Asking for the other tenant by name changes nothing.
      const asked = await inTransaction(a, () =>
        asApp.query(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [b]),
      );
      expect(asked.rows[0].n).toBe(0);
    },
  );

  it.each(TENANT_OWNED)(
    '%s: no setting, no rows (and a setting does not outlive its transaction)',
    async (table) => {
      expect(await inTransaction(null, () => tenantsOf(table))).toEqual([]);
      await inTransaction(a, async () => undefined);
      expect(await tenantsOf(table)).toEqual([]);
    },
  );

  it('tenants: the role sees only its own tenant row', async () => {
    const ids = await inTransaction(a, async () =>
      (await asApp.query('SELECT id FROM tenants')).rows.map((r) => r.id),
    );
    expect(ids).toEqual([a]);
  });

  it('refuses writes into another tenant and leaves its rows untouchable', async () => {
    await expect(
      inTransaction(a, () =>
        asApp.query(`INSERT INTO customers (tenant_id, external_id) VALUES ($1, 'planted')`, [b]),
      ),
    ).rejects.toThrow(/row-level security/);
    const updated = await inTransaction(a, () =>
      asApp.query(`UPDATE customers SET name = 'hacked' WHERE tenant_id = $1`, [b]),
    );
    expect(updated.rowCount).toBe(0);
    const deleted = await inTransaction(a, () =>
      asApp.query(`DELETE FROM quotas WHERE tenant_id = $1`, [b]),
    );
    expect(deleted.rowCount).toBe(0);
    await expect(
      inTransaction(a, () => asApp.query(`UPDATE customers SET tenant_id = $1`, [b])),
    ).rejects.toThrow(/row-level security/);
    await expect(
      inTransaction(a, () =>
        asApp.query(
          `INSERT INTO usage_rollups VALUES ($1, 'hour', now(), 'planted', 1, 1, 1, 1, 1, 1, 0)`,
          [b],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('gives the role no way around the parent: partitions, DDL and the migrations table are closed', async () => {
    await expect(asApp.query('SELECT * FROM usage_events_default')).rejects.toThrow(
      /permission denied/,
    );
    await expect(asApp.query('SELECT * FROM migrations')).rejects.toThrow(/permission denied/);
    await expect(asApp.query('ALTER TABLE customers DISABLE ROW LEVEL SECURITY')).rejects.toThrow(
      /must be owner/,
    );
    await expect(asApp.query('DELETE FROM tenants')).rejects.toThrow(/permission denied/);
  });

  it('sees every tenant on the explicit system path only, for that transaction only', async () => {
    expect((await inTransaction('system', () => tenantsOf('customers'))).sort()).toEqual(
      [a, b].sort(),
    );
    expect((await asApp.query('SELECT current_user AS role')).rows[0].role).toBe('tally_app');
    expect(await tenantsOf('customers')).toEqual([]);
  });

  it("keeps redis_epoch, no tenant's data, to the system path", async () => {
    expect(await countAsOwner('redis_epoch')).toBe(1);
    const count = async () =>
      (await asApp.query('SELECT count(*)::int AS n FROM redis_epoch')).rows[0].n;
    expect(await inTransaction(a, count)).toBe(0);
    expect(await inTransaction(null, count)).toBe(0);
    expect(await inTransaction('system', count)).toBe(1);
    const changed = await inTransaction(a, () =>
      asApp.query('UPDATE redis_epoch SET losses = losses + 1'),
    );
    expect(changed.rowCount).toBe(0);
  });

  it('is what the service runs as: its tenant path is the role with the setting', async () => {
    const db = app.get(TenantDatabase);
    const seen = await db.run(tenantScope(a), (m) =>
      m.query<{ role: string; tenant: string }[]>(
        `SELECT current_user AS role, current_setting('app.tenant_id') AS tenant`,
      ),
    );
    expect(seen).toEqual([{ role: 'tally_app', tenant: a }]);
    await expect(
      db.run(tenantScope(a), () => db.run(tenantScope(b), async () => undefined)),
    ).rejects.toThrow(/another tenant/);
  });
});
