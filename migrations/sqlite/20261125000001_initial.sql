-- Initial schema of the Alga extension runtime on SQLite, the embedded default (seed 1.0-1.2, 1.8).
--
-- The same tables as migrations/postgres, with SQLite types: uuid and timestamps are TEXT
-- (RFC 3339 UTC, which sorts correctly as text), JSON is TEXT checked by json_valid().
-- SQLite has no row-level security, so the SQLite store adds `tenant_id = ?` to every
-- statement itself; the shared conformance suite proves both backends isolate tenants.
--
-- This file is applied once and never edited; later changes go into new migration files.

CREATE TABLE extensions (
    id               TEXT    PRIMARY KEY,
    tenant_id        TEXT    NOT NULL,
    extension_key    TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    version          TEXT    NOT NULL,
    manifest         TEXT    NOT NULL CHECK (json_valid(manifest)),
    main_entry_point TEXT    NOT NULL,
    is_enabled       INTEGER NOT NULL DEFAULT 0 CHECK (is_enabled IN (0, 1)),
    status           TEXT    NOT NULL DEFAULT 'pending_approval'
        CHECK (status IN ('pending_approval', 'installed', 'suspended', 'failed')),
    bundle_hash      TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    last_used_at     TEXT,
    limits           TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(limits))
);
CREATE INDEX extensions_tenant_idx ON extensions (tenant_id);
CREATE UNIQUE INDEX extensions_tenant_key_idx ON extensions (tenant_id, extension_key);

CREATE TABLE extension_permissions (
    id           TEXT    PRIMARY KEY,
    extension_id TEXT    NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    tenant_id    TEXT    NOT NULL,
    resource     TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    granted      INTEGER NOT NULL DEFAULT 0 CHECK (granted IN (0, 1)),
    created_at   TEXT    NOT NULL,
    UNIQUE (extension_id, resource, action)
);
CREATE INDEX extension_permissions_tenant_idx ON extension_permissions (tenant_id, extension_id);

-- Content-addressed file contents, stored once per distinct sha256.
CREATE TABLE file_blobs (
    content_hash TEXT    PRIMARY KEY CHECK (length(content_hash) = 64),
    size         INTEGER NOT NULL CHECK (size >= 0),
    content      BLOB    NOT NULL,
    created_at   TEXT    NOT NULL
);

-- Every uploaded version of an extension: one `active` once approved, an update waits as
-- `pending`, superseded ones stay as `retired` so a version number is never reused.
CREATE TABLE extension_versions (
    id               TEXT    PRIMARY KEY,
    extension_id     TEXT    NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    tenant_id        TEXT    NOT NULL,
    version          TEXT    NOT NULL,
    bundle_hash      TEXT    NOT NULL,
    manifest         TEXT    NOT NULL CHECK (json_valid(manifest)),
    main_entry_point TEXT    NOT NULL,
    signer           TEXT,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    created_at       TEXT    NOT NULL,
    approved_at      TEXT,
    UNIQUE (extension_id, version)
);
CREATE INDEX extension_versions_tenant_idx ON extension_versions (tenant_id, extension_id);
CREATE UNIQUE INDEX extension_versions_one_pending ON extension_versions (extension_id) WHERE state = 'pending';
CREATE UNIQUE INDEX extension_versions_one_active ON extension_versions (extension_id) WHERE state = 'active';

CREATE TABLE extension_files (
    version_id   TEXT    NOT NULL REFERENCES extension_versions (id) ON DELETE CASCADE,
    tenant_id    TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    content_hash TEXT    NOT NULL REFERENCES file_blobs (content_hash),
    size         INTEGER NOT NULL CHECK (size >= 0),
    PRIMARY KEY (version_id, path)
);
CREATE INDEX extension_files_tenant_idx ON extension_files (tenant_id, version_id);
CREATE INDEX extension_files_hash_idx ON extension_files (content_hash);

-- No foreign key to extensions: an uninstall without purge keeps the data.
CREATE TABLE extension_storage (
    extension_id TEXT    NOT NULL,
    tenant_id    TEXT    NOT NULL,
    namespace    TEXT    NOT NULL DEFAULT '',
    key          TEXT    NOT NULL,
    value        TEXT    NOT NULL CHECK (json_valid(value)),
    revision     INTEGER NOT NULL DEFAULT 1 CHECK (revision > 0),
    expires_at   TEXT,
    size_bytes   INTEGER NOT NULL CHECK (size_bytes >= 0),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (extension_id, tenant_id, namespace, key)
);
CREATE INDEX extension_storage_tenant_idx ON extension_storage (tenant_id, extension_id);
CREATE INDEX extension_storage_expiry_idx ON extension_storage (expires_at)
    WHERE expires_at IS NOT NULL;

CREATE TABLE extension_storage_usage (
    extension_id TEXT    NOT NULL,
    tenant_id    TEXT    NOT NULL,
    key_count    INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (extension_id, tenant_id)
);

CREATE TABLE extension_settings (
    extension_id TEXT    NOT NULL,
    tenant_id    TEXT    NOT NULL,
    settings     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (extension_id, tenant_id)
);

CREATE TABLE permissions (
    id           TEXT    PRIMARY KEY,
    tenant_id    TEXT    NOT NULL,
    resource     TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    extension_id TEXT    REFERENCES extensions (id) ON DELETE CASCADE,
    created_at   TEXT    NOT NULL,
    UNIQUE (tenant_id, resource, action)
);
CREATE INDEX permissions_extension_idx ON permissions (extension_id) WHERE extension_id IS NOT NULL;

CREATE TABLE roles (
    id          TEXT    PRIMARY KEY,
    tenant_id   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE role_permissions (
    tenant_id     TEXT    NOT NULL,
    role_id       TEXT    NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id TEXT    NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX role_permissions_tenant_idx ON role_permissions (tenant_id);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    details   TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    at        TEXT    NOT NULL
);
CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, at DESC, id DESC);

-- The audit log is append-only here too.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
