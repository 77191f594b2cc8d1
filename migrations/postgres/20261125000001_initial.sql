-- Initial schema of the Alga extension runtime on PostgreSQL (seed 1.0-1.2, 1.8).
--
-- Tenant isolation is enforced by the database itself: every tenant table has row-level
-- security with FORCE, keyed on the per-transaction setting `app.current_tenant`. The server
-- runs its queries as the role `alga_ext_app`, which owns nothing, so a query that forgets
-- its WHERE clause still sees only the current tenant's rows. When the setting is missing,
-- `current_setting(..., true)` is NULL and every policy is false: unscoped means no rows.
--
-- This file is applied once and never edited; later changes go into new migration files.

-- The role is cluster-wide while this schema is per database, so several databases (and
-- concurrently migrating test databases) may race to create it; losing that race is fine.
DO $$
BEGIN
    CREATE ROLE alga_ext_app NOLOGIN;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Reads the tenant of the current transaction; NULL when none was set.
CREATE FUNCTION alga_current_tenant() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.current_tenant', true), '') $$;

-- One row per installed extension per tenant. `extension_key` is the manifest id
-- (reverse-domain, e.g. com.example.ticket-tags).
CREATE TABLE extensions (
    id               uuid        PRIMARY KEY,
    tenant_id        text        NOT NULL,
    extension_key    text        NOT NULL,
    name             text        NOT NULL,
    description      text        NOT NULL DEFAULT '',
    version          text        NOT NULL,
    manifest         jsonb       NOT NULL,
    main_entry_point text        NOT NULL,
    is_enabled       boolean     NOT NULL DEFAULT false,
    status           text        NOT NULL DEFAULT 'pending_approval'
        CHECK (status IN ('pending_approval', 'installed', 'suspended', 'failed')),
    bundle_hash      text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- When an isolate last started for it; drives the start-up prewarm order.
    last_used_at     timestamptz,
    -- Tenant-admin overrides of isolate limits (cpuSoftMs, cpuHardMs, heapMb, timeoutMs),
    -- applied within the operator's ceilings.
    limits           jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX extensions_tenant_idx ON extensions (tenant_id);
-- One install of a given manifest id per tenant; this also serves (tenant_id, key) lookups.
CREATE UNIQUE INDEX extensions_tenant_key_idx ON extensions (tenant_id, extension_key);

-- Capabilities an extension asks of the host ("tickets:read") and whether an admin granted them.
CREATE TABLE extension_permissions (
    id           uuid        PRIMARY KEY,
    extension_id uuid        NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    tenant_id    text        NOT NULL,
    resource     text        NOT NULL,
    action       text        NOT NULL,
    granted      boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (extension_id, resource, action)
);
CREATE INDEX extension_permissions_tenant_idx ON extension_permissions (tenant_id, extension_id);

-- File contents, stored once per distinct sha256 whoever uploads them. Blobs hold no tenant
-- data of their own: a tenant reaches a blob only through its own extension_files rows.
CREATE TABLE file_blobs (
    content_hash text        PRIMARY KEY CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    size         bigint      NOT NULL CHECK (size >= 0),
    content      bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Every uploaded version of an extension. Exactly one is `active` once approved; an update
-- waits as `pending` (the active one keeps serving) until an admin approves it. Rows are
-- kept after they are superseded (`retired`), so a version number can never be reused for
-- different content.
CREATE TABLE extension_versions (
    id               uuid        PRIMARY KEY,
    extension_id     uuid        NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    tenant_id        text        NOT NULL,
    version          text        NOT NULL,
    bundle_hash      text        NOT NULL,
    manifest         jsonb       NOT NULL,
    main_entry_point text        NOT NULL,
    signer           text,
    state            text        NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    approved_at      timestamptz,
    UNIQUE (extension_id, version)
);
CREATE INDEX extension_versions_tenant_idx ON extension_versions (tenant_id, extension_id);
-- At most one pending and one active version per extension.
CREATE UNIQUE INDEX extension_versions_one_pending ON extension_versions (extension_id) WHERE state = 'pending';
CREATE UNIQUE INDEX extension_versions_one_active ON extension_versions (extension_id) WHERE state = 'active';

-- The files of one version, by path, pointing at their content-addressed blobs.
CREATE TABLE extension_files (
    version_id   uuid        NOT NULL REFERENCES extension_versions (id) ON DELETE CASCADE,
    tenant_id    text        NOT NULL,
    path         text        NOT NULL,
    content_hash text        NOT NULL REFERENCES file_blobs (content_hash),
    size         bigint      NOT NULL CHECK (size >= 0),
    PRIMARY KEY (version_id, path)
);
CREATE INDEX extension_files_tenant_idx ON extension_files (tenant_id, version_id);
CREATE INDEX extension_files_hash_idx ON extension_files (content_hash);

-- Key-value data of extensions. No foreign key to `extensions`: an uninstall without purge
-- keeps the data, and the maintenance job removes rows orphaned for good.
CREATE TABLE extension_storage (
    extension_id uuid        NOT NULL,
    tenant_id    text        NOT NULL,
    namespace    text        NOT NULL DEFAULT '',
    key          text        NOT NULL,
    value        jsonb       NOT NULL,
    revision     bigint      NOT NULL DEFAULT 1 CHECK (revision > 0),
    expires_at   timestamptz,
    size_bytes   bigint      NOT NULL CHECK (size_bytes >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (extension_id, tenant_id, namespace, key)
);
CREATE INDEX extension_storage_tenant_idx ON extension_storage (tenant_id, extension_id);
-- Lets the TTL sweep find expired rows without scanning live ones.
CREATE INDEX extension_storage_expiry_idx ON extension_storage (expires_at)
    WHERE expires_at IS NOT NULL;

-- Running totals behind storage quotas, kept exact by `alga_recount_storage_usage`.
CREATE TABLE extension_storage_usage (
    extension_id uuid        NOT NULL,
    tenant_id    text        NOT NULL,
    key_count    bigint      NOT NULL DEFAULT 0,
    bytes        bigint      NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (extension_id, tenant_id)
);

-- The tenant's settings for an extension (defaults live in the manifest).
CREATE TABLE extension_settings (
    extension_id uuid        NOT NULL,
    tenant_id    text        NOT NULL,
    settings     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (extension_id, tenant_id)
);

-- RBAC (seed 1.8). A permission with an extension_id was registered by that extension and
-- goes away with it.
CREATE TABLE permissions (
    id           uuid        PRIMARY KEY,
    tenant_id    text        NOT NULL,
    resource     text        NOT NULL,
    action       text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    extension_id uuid        REFERENCES extensions (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, resource, action)
);
CREATE INDEX permissions_extension_idx ON permissions (extension_id) WHERE extension_id IS NOT NULL;

CREATE TABLE roles (
    id          uuid        PRIMARY KEY,
    tenant_id   text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE role_permissions (
    tenant_id     text        NOT NULL,
    role_id       uuid        NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id uuid        NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX role_permissions_tenant_idx ON role_permissions (tenant_id);

-- Append-only record of what admins, extensions and the runtime did.
CREATE TABLE audit_log (
    id        bigserial   PRIMARY KEY,
    tenant_id text        NOT NULL,
    actor     text        NOT NULL,
    action    text        NOT NULL,
    target    text        NOT NULL,
    details   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, at DESC, id DESC);

-- Row-level security: the same policy on every tenant table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'extensions', 'extension_permissions', 'extension_versions', 'extension_files', 'extension_storage',
        'extension_storage_usage', 'extension_settings', 'permissions', 'roles',
        'role_permissions', 'audit_log'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = alga_current_tenant()) '
            'WITH CHECK (tenant_id = alga_current_tenant())', t);
    END LOOP;
END
$$;

-- Enables or disables an extension and writes its audit row in one statement, so the two can
-- never disagree. Runs with the caller's rights: RLS limits it to the current tenant.
CREATE FUNCTION alga_set_extension_enabled(p_id uuid, p_enabled boolean, p_actor text)
    RETURNS SETOF extensions
    LANGUAGE plpgsql
    AS $$
DECLARE
    r extensions;
BEGIN
    UPDATE extensions
       SET is_enabled = p_enabled, updated_at = now()
     WHERE id = p_id AND tenant_id = alga_current_tenant()
    RETURNING * INTO r;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO audit_log (tenant_id, actor, action, target, details)
    VALUES (r.tenant_id, p_actor,
            CASE WHEN p_enabled THEN 'extension.enabled' ELSE 'extension.disabled' END,
            r.id::text,
            jsonb_build_object('extension', r.extension_key, 'version', r.version));
    RETURN NEXT r;
END
$$;

-- Recomputes an extension's storage usage from its live rows and stores the result, for
-- the quota job and for repairing drift.
CREATE FUNCTION alga_recount_storage_usage(p_extension_id uuid)
    RETURNS TABLE (key_count bigint, bytes bigint)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_tenant text := alga_current_tenant();
BEGIN
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'alga_recount_storage_usage needs app.current_tenant';
    END IF;
    INSERT INTO extension_storage_usage AS u (extension_id, tenant_id, key_count, bytes, updated_at)
    SELECT p_extension_id, v_tenant, count(*), coalesce(sum(s.size_bytes), 0), now()
      FROM extension_storage s
     WHERE s.extension_id = p_extension_id AND s.tenant_id = v_tenant
       AND (s.expires_at IS NULL OR s.expires_at > now())
    ON CONFLICT (extension_id, tenant_id)
    DO UPDATE SET key_count = EXCLUDED.key_count, bytes = EXCLUDED.bytes, updated_at = now();
    RETURN QUERY
        SELECT u.key_count, u.bytes FROM extension_storage_usage u
         WHERE u.extension_id = p_extension_id AND u.tenant_id = v_tenant;
END
$$;

-- Deletes blobs no file row refers to any more (after uninstalls). It must see every
-- tenant's file rows, which RLS hides from the runtime's role, so it runs with the rights
-- of its owner; it touches nothing but unreferenced blobs and returns how many it removed.
CREATE FUNCTION alga_gc_file_blobs() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
    AS $$
    WITH gone AS (
        DELETE FROM file_blobs b
         WHERE NOT EXISTS (SELECT 1 FROM extension_files f WHERE f.content_hash = b.content_hash)
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;

-- The enabled extensions of all tenants most recently used, for warming isolates at start.
-- RLS hides other tenants from the runtime's role, so this runs with its owner's rights and
-- returns ids only.
CREATE FUNCTION alga_recently_used_extensions(p_limit integer)
    RETURNS TABLE (tenant_id text, id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
    AS $$
    SELECT e.tenant_id, e.id FROM extensions e
     WHERE e.is_enabled AND e.status = 'installed' AND e.last_used_at IS NOT NULL
     ORDER BY e.last_used_at DESC
     LIMIT greatest(p_limit, 0)
$$;

-- Privileges of the runtime's role: data access only, never ownership (owners bypass RLS),
-- and the audit log is append-only. Default privileges cover tables of later migrations.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO alga_ext_app', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO alga_ext_app',
                   current_schema());
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO alga_ext_app', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO alga_ext_app',
                   current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO alga_ext_app',
                   current_schema());
END
$$;
REVOKE UPDATE, DELETE ON audit_log FROM alga_ext_app;
-- Blobs may be shared by tenants: only alga_gc_file_blobs() removes them, and only unreferenced ones.
REVOKE UPDATE, DELETE ON file_blobs FROM alga_ext_app;
