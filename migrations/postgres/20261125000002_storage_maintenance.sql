-- Storage maintenance: TTL sweep, orphan removal and usage recount, plus a consistent
-- per-extension recount.
--
-- Usage counters count every row still stored, expired or not: writes charge and deletes
-- credit as they go, and the TTL sweep credits what it removes. The first recount counted
-- live rows only, which the sweep's credit then counted away a second time; it is replaced
-- here. Recounts lock the usage row first, so a writer that charged it has committed by
-- the time rows are counted, and writers arriving later wait.

CREATE OR REPLACE FUNCTION alga_recount_storage_usage(p_extension_id uuid)
    RETURNS TABLE (key_count bigint, bytes bigint)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_tenant text := alga_current_tenant();
BEGIN
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'alga_recount_storage_usage needs app.current_tenant';
    END IF;
    INSERT INTO extension_storage_usage (extension_id, tenant_id) VALUES (p_extension_id, v_tenant)
        ON CONFLICT (extension_id, tenant_id) DO NOTHING;
    PERFORM 1 FROM extension_storage_usage u
      WHERE u.extension_id = p_extension_id AND u.tenant_id = v_tenant FOR UPDATE;
    UPDATE extension_storage_usage u
       SET key_count = c.n, bytes = c.b, updated_at = now()
      FROM (SELECT count(*) AS n, coalesce(sum(s.size_bytes), 0)::bigint AS b FROM extension_storage s
             WHERE s.extension_id = p_extension_id AND s.tenant_id = v_tenant) c
     WHERE u.extension_id = p_extension_id AND u.tenant_id = v_tenant;
    RETURN QUERY
        SELECT u.key_count, u.bytes FROM extension_storage_usage u
         WHERE u.extension_id = p_extension_id AND u.tenant_id = v_tenant;
END
$$;

-- Deletes up to p_limit expired values of all tenants and credits their usage. Rows a
-- writer holds are skipped (the writer replaces them). Runs with its owner's rights: RLS
-- hides other tenants from the runtime's role. Returns how many rows it removed.
CREATE FUNCTION alga_sweep_expired_storage(p_limit integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
    AS $$
DECLARE
    v_swept bigint;
BEGIN
    WITH doomed AS (
        SELECT extension_id, tenant_id, namespace, key FROM extension_storage
         WHERE expires_at IS NOT NULL AND expires_at <= now()
         ORDER BY expires_at
         LIMIT greatest(p_limit, 0)
           FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM extension_storage s USING doomed d
         WHERE s.extension_id = d.extension_id AND s.tenant_id = d.tenant_id
           AND s.namespace = d.namespace AND s.key = d.key
        RETURNING s.extension_id, s.tenant_id, s.size_bytes
    ), totals AS (
        SELECT extension_id, tenant_id, count(*) AS n, sum(size_bytes)::bigint AS b FROM gone GROUP BY 1, 2
    ), credited AS (
        UPDATE extension_storage_usage u
           SET key_count = greatest(u.key_count - t.n, 0), bytes = greatest(u.bytes - t.b, 0)
          FROM totals t
         WHERE u.extension_id = t.extension_id AND u.tenant_id = t.tenant_id
        RETURNING 1
    )
    SELECT coalesce(sum(n), 0)::bigint INTO v_swept FROM totals;
    RETURN v_swept;
END
$$;

-- Deletes the stored values of extensions uninstalled (without purge) whose storage has not
-- changed for p_retention: a reinstall within that time finds its data again. Returns how
-- many values it removed.
CREATE FUNCTION alga_delete_orphaned_storage(p_retention interval) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
    AS $$
    WITH orphans AS (
        SELECT u.extension_id, u.tenant_id FROM extension_storage_usage u
         WHERE u.updated_at < now() - p_retention
           AND NOT EXISTS (SELECT 1 FROM extensions e WHERE e.id = u.extension_id AND e.tenant_id = u.tenant_id)
    ), gone AS (
        DELETE FROM extension_storage s USING orphans o
         WHERE s.extension_id = o.extension_id AND s.tenant_id = o.tenant_id
        RETURNING 1
    ), usage_gone AS (
        DELETE FROM extension_storage_usage u USING orphans o
         WHERE u.extension_id = o.extension_id AND u.tenant_id = o.tenant_id
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;

-- Recounts every extension's usage from its rows, one extension at a time under the lock
-- the per-extension recount takes. Returns how many counters were wrong.
CREATE FUNCTION alga_recount_all_storage_usage() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
    AS $$
DECLARE
    r record;
    v_fixed bigint := 0;
    v_n bigint;
    v_b bigint;
BEGIN
    FOR r IN SELECT extension_id, tenant_id FROM extension_storage_usage LOOP
        PERFORM 1 FROM extension_storage_usage u
          WHERE u.extension_id = r.extension_id AND u.tenant_id = r.tenant_id FOR UPDATE;
        SELECT count(*), coalesce(sum(size_bytes), 0)::bigint INTO v_n, v_b FROM extension_storage s
         WHERE s.extension_id = r.extension_id AND s.tenant_id = r.tenant_id;
        UPDATE extension_storage_usage u SET key_count = v_n, bytes = v_b
         WHERE u.extension_id = r.extension_id AND u.tenant_id = r.tenant_id
           AND (u.key_count, u.bytes) IS DISTINCT FROM (v_n, v_b);
        IF FOUND THEN
            v_fixed := v_fixed + 1;
        END IF;
    END LOOP;
    RETURN v_fixed;
END
$$;

REVOKE ALL ON FUNCTION alga_sweep_expired_storage(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION alga_delete_orphaned_storage(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION alga_recount_all_storage_usage() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION alga_sweep_expired_storage(integer) TO alga_ext_app;
GRANT EXECUTE ON FUNCTION alga_delete_orphaned_storage(interval) TO alga_ext_app;
GRANT EXECUTE ON FUNCTION alga_recount_all_storage_usage() TO alga_ext_app;
