-- The storage write audit: one row per write, delete, clear or import of an extension's
-- storage, with who did it (the request's user, `extension:<key>` for work outside a
-- request, or the admin who imported). The runtime batches these rows off the request path;
-- like audit_log, the runtime role may only append.
CREATE TABLE extension_storage_audit (
    id           bigserial   PRIMARY KEY,
    tenant_id    text        NOT NULL,
    extension_id uuid        NOT NULL,
    at           timestamptz NOT NULL,
    actor        text        NOT NULL,
    op           text        NOT NULL,
    namespace    text        NOT NULL,
    -- Empty for operations on a whole namespace (clear, import).
    key          text        NOT NULL,
    size_bytes   bigint      NOT NULL
);
CREATE INDEX extension_storage_audit_idx ON extension_storage_audit (tenant_id, extension_id, id DESC);

ALTER TABLE extension_storage_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE extension_storage_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON extension_storage_audit
    USING (tenant_id = alga_current_tenant()) WITH CHECK (tenant_id = alga_current_tenant());
REVOKE UPDATE, DELETE ON extension_storage_audit FROM alga_ext_app;
