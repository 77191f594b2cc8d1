-- Storage search: equality filters are containment tests (`value @> '{"status": "open"}'`),
-- which this index answers for any field. Range filters and key order use the primary key's
-- (extension, tenant, namespace, key) prefix, so a search never leaves one namespace.
CREATE INDEX extension_storage_value_idx ON extension_storage USING gin (value jsonb_path_ops);
