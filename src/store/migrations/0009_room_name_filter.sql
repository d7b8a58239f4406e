-- ListRooms name_filter: name ILIKE '%text%' within one environment.
--
-- A B-tree cannot serve a "contains" pattern; a trigram GIN index can (for
-- filters of three or more characters). pg_trgm ships with Postgres's contrib
-- modules, which the embedded Postgres, the official Docker image and the
-- managed services carry, and it is a trusted extension since Postgres 13, so
-- a role with CREATE on the database may install it. Where it cannot be
-- installed (no contrib package, or no privilege), the migration still
-- succeeds without the index, and a filtered ListRooms reads the
-- environment's rooms in seq order (rooms_environment_seq_idx) until a page
-- is full: see docs/api.md.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm is not available (%): ListRooms name_filter will scan each environment''s rooms', SQLERRM;
END
$$;

-- The operator class is named with the extension's schema, which need not be
-- on the search_path.
DO $$
DECLARE
  trgm_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm');
BEGIN
  IF trgm_schema IS NOT NULL THEN
    EXECUTE format('CREATE INDEX rooms_name_trgm_idx ON rooms USING gin (name %I.gin_trgm_ops)', trgm_schema);
  END IF;
END
$$;
