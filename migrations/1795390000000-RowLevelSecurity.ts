import { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT_OWNED = ['api_keys', 'customers', 'usage_events', 'aggregation_windows', 'quotas'];

/**
 * Row-level security, the last of the three tenant-isolation layers (docs/multi-tenancy.md).
 *
 * The service runs its queries as `tally_app`, a NOLOGIN role it switches to on connect;
 * migrations keep running as the connecting owner. Superusers and owners bypass RLS, so
 * the role is what makes the policies bite. As `tally_app`, a row is visible and writable
 * only when its tenant is the transaction's `app.tenant_id`; no setting, no rows.
 *
 * Work that spans tenants (the closer's flush, the persistence worker, key lookup by
 * hash, partition upkeep, operator routes) switches, for one transaction, to
 * `tally_system`: a member of `tally_app` (same privileges) whose own policy admits every
 * row. A second role rather than an `OR app.all_tenants = 'on'` in the tenant policy: the
 * OR hides the equality from the planner, which then mis-estimates every tenant query
 * (a page of windows went from an ordered index scan to a bitmap scan plus sort, 0.5 ms
 * to 8.7 ms; docs/multi-tenancy.md).
 *
 * The roles are cluster-wide and may already exist (another database of the cluster, a
 * concurrent migration elsewhere): creating them tolerates both.
 */
export class RowLevelSecurity1795390000000 implements MigrationInterface {
  name = 'RowLevelSecurity1795390000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        BEGIN
          CREATE ROLE tally_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
        BEGIN
          CREATE ROLE tally_system NOLOGIN IN ROLE tally_app;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
        -- A non-superuser owner must be a member to switch to them; a superuser already may.
        IF NOT pg_has_role(current_user, 'tally_system', 'MEMBER') THEN
          EXECUTE format('GRANT tally_app, tally_system TO %I', current_user);
        END IF;
      END $$`);
    await q.query(`
      CREATE FUNCTION tally_current_tenant() RETURNS uuid
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$`);

    await q.query(`GRANT USAGE ON SCHEMA public TO tally_app`);
    await q.query(`GRANT SELECT, INSERT, UPDATE ON tenants, api_keys, customers TO tally_app`);
    await q.query(`GRANT SELECT, INSERT, UPDATE ON aggregation_windows TO tally_app`);
    await q.query(`GRANT SELECT, INSERT ON usage_events TO tally_app`);
    await q.query(`GRANT SELECT, INSERT, DELETE ON quotas TO tally_app`);
    await q.query(`GRANT EXECUTE ON FUNCTION tally_current_tenant() TO tally_app`);

    for (const table of TENANT_OWNED) {
      await protect(q, table, 'tenant_id');
    }
    // A tenant sees its own row only; operator routes and key lookups use the system role.
    await protect(q, 'tenants', 'id');

    // Partitions belong to the owner and neither role has any privilege on them: the only
    // way to their rows is through usage_events, where the policies apply. Creating the
    // next days' partitions is DDL, so it runs with the owner's rights, and only this one
    // statement can.
    await q.query(`
      CREATE FUNCTION tally_create_usage_partition(day date) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
        AS $$
        BEGIN
          EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
            'usage_events_p' || to_char(day, 'YYYYMMDD'),
            day::timestamp AT TIME ZONE 'UTC',
            (day + 1)::timestamp AT TIME ZONE 'UTC');
        END $$`);
    await q.query(`REVOKE ALL ON FUNCTION tally_create_usage_partition(date) FROM PUBLIC`);
    await q.query(`GRANT EXECUTE ON FUNCTION tally_create_usage_partition(date) TO tally_system`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION tally_create_usage_partition(date)`);
    for (const table of [...TENANT_OWNED, 'tenants']) {
      await q.query(`DROP POLICY tenant_isolation ON ${table}`);
      await q.query(`DROP POLICY system_access ON ${table}`);
      await q.query(`ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`);
      await q.query(`REVOKE ALL ON ${table} FROM tally_app`);
    }
    await q.query(`DROP FUNCTION tally_current_tenant()`);
    await q.query(`REVOKE USAGE ON SCHEMA public FROM tally_app`);
    // The roles stay: other databases of the cluster may still use them.
  }
}

/**
 * FORCE as well, so that an owner that is not a superuser is held to RLS too (with no
 * policy for it, it sees no rows: data migrations must switch to tally_system).
 */
async function protect(q: QueryRunner, table: string, tenantColumn: string): Promise<void> {
  await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
  await q.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
  await q.query(`
    CREATE POLICY tenant_isolation ON ${table} TO tally_app
      USING (${tenantColumn} = tally_current_tenant())
      WITH CHECK (${tenantColumn} = tally_current_tenant())`);
  await q.query(`
    CREATE POLICY system_access ON ${table} TO tally_system
      USING (true)
      WITH CHECK (true)`);
}
