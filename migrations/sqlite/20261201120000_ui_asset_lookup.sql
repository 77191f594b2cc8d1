-- Static UI assets (`GET /ext-ui/{install id}/sha256:{bundle hash}/{path}`) find the version
-- an (install id, bundle hash) pair names; this index serves that lookup. (PostgreSQL's
-- migration of the same number adds the SECURITY DEFINER function the lookup needs there.)
CREATE INDEX extension_versions_hash_idx ON extension_versions (extension_id, bundle_hash);
