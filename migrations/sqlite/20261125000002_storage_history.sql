-- Storage history: the previous revisions of each value, for `ctx.storage.history(key)`.
-- Triggers capture them on every write path alike: a row is archived when a write replaces
-- it with a different value (a new revision); the newest 10 archived revisions of a key are
-- kept. Deleting a key (or its expiry sweep) removes its history, so a key written again
-- starts over at revision 1. Not counted against quotas; removed with a purge or orphan
-- removal (see the PostgreSQL migration for the full reasoning).

CREATE TABLE extension_storage_history (
    extension_id TEXT    NOT NULL,
    tenant_id    TEXT    NOT NULL,
    namespace    TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    revision     INTEGER NOT NULL,
    value        TEXT    NOT NULL CHECK (json_valid(value)),
    size_bytes   INTEGER NOT NULL,
    written_at   TEXT    NOT NULL,
    PRIMARY KEY (extension_id, tenant_id, namespace, key, revision)
);

CREATE TRIGGER extension_storage_archive_update
    BEFORE UPDATE ON extension_storage
    WHEN NEW.revision > OLD.revision AND OLD.value IS NOT NEW.value
BEGIN
    INSERT OR IGNORE INTO extension_storage_history (extension_id, tenant_id, namespace, key, revision, value, size_bytes, written_at)
    VALUES (OLD.extension_id, OLD.tenant_id, OLD.namespace, OLD.key, OLD.revision, OLD.value, OLD.size_bytes, OLD.updated_at);
    DELETE FROM extension_storage_history
     WHERE extension_id = OLD.extension_id AND tenant_id = OLD.tenant_id
       AND namespace = OLD.namespace AND key = OLD.key AND revision <= OLD.revision - 10;
END;

CREATE TRIGGER extension_storage_archive_delete
    BEFORE DELETE ON extension_storage
BEGIN
    DELETE FROM extension_storage_history
     WHERE extension_id = OLD.extension_id AND tenant_id = OLD.tenant_id
       AND namespace = OLD.namespace AND key = OLD.key;
END;
