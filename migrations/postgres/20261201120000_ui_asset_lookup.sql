-- Static UI assets (`GET /ext-ui/{install id}/sha256:{bundle hash}/{path}`): the request
-- carries no token by default, so no tenant, yet every table hides rows of tenants other
-- than `app.current_tenant`. This function answers exactly one question across tenants:
-- which tenant and version an (install id, bundle hash) pair names, when that version is
-- active or pending. It returns ids only; the files are then read tenant-scoped as usual.
-- It runs with its owner's rights (like alga_gc_file_blobs), so it bypasses RLS only when
-- that owner is a superuser or has BYPASSRLS.
CREATE FUNCTION alga_resolve_ui_version(p_extension_id uuid, p_bundle_hash text)
    RETURNS TABLE (tenant_id text, version_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
    AS $$
    SELECT v.tenant_id, v.id FROM extension_versions v
     WHERE v.extension_id = p_extension_id AND v.bundle_hash = p_bundle_hash
       AND v.state IN ('active', 'pending')
     ORDER BY v.state = 'active' DESC
     LIMIT 1
$$;

REVOKE ALL ON FUNCTION alga_resolve_ui_version(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION alga_resolve_ui_version(uuid, text) TO alga_ext_app;

-- The lookup above, and a tenant's own version-by-hash lookups, find their row by index.
CREATE INDEX extension_versions_hash_idx ON extension_versions (extension_id, bundle_hash);
