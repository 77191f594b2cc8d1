-- The storage write audit (see the PostgreSQL migration): one row per write, delete, clear
-- or import, with its actor; append-only.
CREATE TABLE extension_storage_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    TEXT    NOT NULL,
    extension_id TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    op           TEXT    NOT NULL,
    namespace    TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    size_bytes   INTEGER NOT NULL
);
CREATE INDEX extension_storage_audit_idx ON extension_storage_audit (tenant_id, extension_id, id DESC);
CREATE TRIGGER extension_storage_audit_no_update BEFORE UPDATE ON extension_storage_audit
BEGIN
    SELECT RAISE(ABORT, 'the storage audit is append-only');
END;
CREATE TRIGGER extension_storage_audit_no_delete BEFORE DELETE ON extension_storage_audit
BEGIN
    SELECT RAISE(ABORT, 'the storage audit is append-only');
END;
