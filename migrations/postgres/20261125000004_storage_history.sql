-- Storage history: the previous revisions of each value, for `ctx.storage.history(key)`.
--
-- Triggers capture them, so every write path (single writes, batches, transactions,
-- imports) records history the same way. A row is archived when a write replaces it with a
-- different value (a new revision); the newest 10 archived revisions of a key are kept.
-- History lives as long as its key: deleting the key (or the TTL sweep removing it) removes
-- its history, so a key written again starts over at revision 1 without colliding with old
-- revision numbers. History does not count against storage quotas; it is bounded by those
-- 10 revisions per key and goes with a purge or orphan removal (both delete the key rows,
-- and the delete trigger takes their history along).

CREATE TABLE extension_storage_history (
    extension_id uuid        NOT NULL,
    tenant_id    text        NOT NULL,
    namespace    text        NOT NULL,
    key          text        NOT NULL,
    revision     bigint      NOT NULL,
    value        jsonb       NOT NULL,
    size_bytes   bigint      NOT NULL,
    -- When this revision was written (the replaced row's updated_at).
    written_at   timestamptz NOT NULL,
    PRIMARY KEY (extension_id, tenant_id, namespace, key, revision)
);

ALTER TABLE extension_storage_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE extension_storage_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON extension_storage_history
    USING (tenant_id = alga_current_tenant()) WITH CHECK (tenant_id = alga_current_tenant());

CREATE FUNCTION alga_archive_storage_revision() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM extension_storage_history h
         WHERE h.extension_id = OLD.extension_id AND h.tenant_id = OLD.tenant_id
           AND h.namespace = OLD.namespace AND h.key = OLD.key;
        RETURN OLD;
    END IF;
    INSERT INTO extension_storage_history (extension_id, tenant_id, namespace, key, revision, value, size_bytes, written_at)
    VALUES (OLD.extension_id, OLD.tenant_id, OLD.namespace, OLD.key, OLD.revision, OLD.value, OLD.size_bytes, OLD.updated_at)
    ON CONFLICT DO NOTHING;
    DELETE FROM extension_storage_history h
     WHERE h.extension_id = OLD.extension_id AND h.tenant_id = OLD.tenant_id
       AND h.namespace = OLD.namespace AND h.key = OLD.key AND h.revision <= OLD.revision - 10;
    RETURN NEW;
END
$$;

CREATE TRIGGER extension_storage_archive_update
    BEFORE UPDATE ON extension_storage
    FOR EACH ROW WHEN (NEW.revision > OLD.revision AND OLD.value IS DISTINCT FROM NEW.value)
    EXECUTE FUNCTION alga_archive_storage_revision();

CREATE TRIGGER extension_storage_archive_delete
    BEFORE DELETE ON extension_storage
    FOR EACH ROW EXECUTE FUNCTION alga_archive_storage_revision();
