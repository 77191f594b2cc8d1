-- Several runtime nodes share one database and each caches what it read (dispatch targets,
-- role permissions, UI descriptors, storage values). These triggers tell every node what
-- changed through NOTIFY, from inside the writing transaction: PostgreSQL delivers a
-- notification only when its transaction commits, so no node ever hears of a rolled-back
-- write, and it hears of a committed one whoever made it (a node, a migration, the host app
-- editing role grants directly). Payloads carry ids, never values, and stay under NOTIFY's
-- 8000-byte limit. `alga_ext.node` is each runtime connection's node id (set when the
-- connection opens), so a node can skip what it did itself; other writers leave it empty.

-- The channel, one per schema, so runtimes on other schemas of the same database (and
-- tests, which take a schema each) do not hear each other. Nodes ask this same function.
-- The schema's md5 keeps any name within NOTIFY's 63-byte channel limit, and distinct.
-- Every function here is pinned to the schema it was created in (`SET search_path FROM
-- CURRENT`): a writer with another search path (the host app, a DBA script) still reaches
-- them, and announces on this schema's channel.
CREATE FUNCTION alga_ext_changes_channel() RETURNS text
    LANGUAGE sql STABLE SET search_path FROM CURRENT
    AS $$ SELECT 'alga_ext_changes:' || md5(current_schema()) $$;

-- One notification: `n` the writing node, `k` the kind (`x` an extension's registry rows,
-- `r` a tenant's roles, `s` storage), `t` the tenant, `e` the install, `s`/`y` a storage key,
-- `i` true when the extension's isolates are to go (another version, limits or state).
CREATE FUNCTION alga_ext_announce(p_kind text, p_tenant text, p_extension uuid, p_namespace text, p_key text, p_isolates boolean)
    RETURNS void
    LANGUAGE sql SET search_path FROM CURRENT
    AS $$
    SELECT pg_notify(alga_ext_changes_channel(), json_strip_nulls(json_build_object(
        'n', coalesce(current_setting('alga_ext.node', true), ''), 'k', p_kind,
        't', p_tenant, 'e', p_extension, 's', p_namespace, 'y', p_key, 'i', p_isolates))::text)
$$;

-- An extension's own row. Its isolates go when what they were built from or may serve
-- changed; a settings or grant change alone needs only the cached target dropped.
CREATE FUNCTION alga_ext_notify_extension() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM alga_ext_announce('x', OLD.tenant_id, OLD.id, NULL, NULL, true);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM alga_ext_announce('x', NEW.tenant_id, NEW.id, NULL, NULL, NULL);
    ELSE
        PERFORM alga_ext_announce('x', NEW.tenant_id, NEW.id, NULL, NULL,
            CASE WHEN (OLD.version, OLD.bundle_hash, OLD.status, OLD.is_enabled, OLD.limits)
                      IS DISTINCT FROM (NEW.version, NEW.bundle_hash, NEW.status, NEW.is_enabled, NEW.limits)
                 THEN true END);
    END IF;
    RETURN NULL;
END
$$;

-- Rows that belong to an extension: its versions, grants and settings.
CREATE FUNCTION alga_ext_notify_extension_part() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM alga_ext_announce('x', OLD.tenant_id, OLD.extension_id, NULL, NULL, NULL);
    ELSE
        PERFORM alga_ext_announce('x', NEW.tenant_id, NEW.extension_id, NULL, NULL, NULL);
    END IF;
    RETURN NULL;
END
$$;

-- Role grants: a tenant's role permissions are cached as a whole.
CREATE FUNCTION alga_ext_notify_roles() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM alga_ext_announce('r', OLD.tenant_id, NULL, NULL, NULL, NULL);
    ELSE
        PERFORM alga_ext_announce('r', NEW.tenant_id, NULL, NULL, NULL, NULL);
    END IF;
    RETURN NULL;
END
$$;

-- Storage values, by key; a key too long for the payload names its whole extension instead.
CREATE FUNCTION alga_ext_notify_storage() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT
    AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF octet_length(r.namespace) + octet_length(r.key) + octet_length(r.tenant_id) > 7000 THEN
        PERFORM alga_ext_announce('s', r.tenant_id, r.extension_id, NULL, NULL, NULL);
    ELSE
        PERFORM alga_ext_announce('s', r.tenant_id, r.extension_id, r.namespace, r.key, NULL);
    END IF;
    RETURN NULL;
END
$$;

-- `last_used_at` moves on every cold start and changes nothing a node caches: an update
-- that sets only it is not announced.
CREATE TRIGGER extensions_changed
    AFTER INSERT OR DELETE OR UPDATE OF tenant_id, extension_key, name, description, version, manifest,
        main_entry_point, is_enabled, status, bundle_hash, limits
    ON extensions FOR EACH ROW EXECUTE FUNCTION alga_ext_notify_extension();
CREATE TRIGGER extension_permissions_changed AFTER INSERT OR UPDATE OR DELETE
    ON extension_permissions FOR EACH ROW EXECUTE FUNCTION alga_ext_notify_extension_part();
CREATE TRIGGER extension_versions_changed AFTER INSERT OR UPDATE OR DELETE
    ON extension_versions FOR EACH ROW EXECUTE FUNCTION alga_ext_notify_extension_part();
CREATE TRIGGER extension_settings_changed AFTER INSERT OR UPDATE OR DELETE
    ON extension_settings FOR EACH ROW EXECUTE FUNCTION alga_ext_notify_extension_part();

CREATE TRIGGER permissions_changed AFTER INSERT OR UPDATE OR DELETE
    ON permissions FOR EACH ROW EXECUTE FUNCTION alga_ext_notify_roles();
CREATE TRIGGER roles_changed AFTER INSERT OR UPDATE OR DELETE
    ON roles FOR EACH ROW EXECUTE FUNCTION alga_ext_notify_roles();
CREATE TRIGGER role_permissions_changed AFTER INSERT OR UPDATE OR DELETE
    ON role_permissions FOR EACH ROW EXECUTE FUNCTION alga_ext_notify_roles();

CREATE TRIGGER extension_storage_changed AFTER INSERT OR UPDATE OR DELETE
    ON extension_storage FOR EACH ROW EXECUTE FUNCTION alga_ext_notify_storage();
