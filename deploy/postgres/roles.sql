-- Least-privilege PostgreSQL roles for Tally, for the schema the session is in (current_schema()).
-- Run once per database and schema as the schema's owner (the role Flyway migrates with), after the
-- migrations: psql "postgresql://owner@host/db?options=-csearch_path%3Dtally" -f roles.sql
-- Idempotent. Creates two group roles (NOLOGIN); grant them to login users:
--   CREATE ROLE tally_job LOGIN PASSWORD '…' IN ROLE tally_writer;
--   CREATE ROLE tally_api LOGIN PASSWORD '…' IN ROLE tally_reader;
--
-- tally_writer: the projection job run with --no-migrate. Upserts writers' partials, reads them back
--   to refill Valkey (the cache warden), reads the served generation. No DDL, no deletes, cannot
--   switch the served generation.
-- tally_reader: ViewClient, tally serve, tally view. Reads the merged views and the served
--   generation; cannot write anything.
-- Migrations, tally replay (cutover, rollback, retiring generations) and tally cache warm run as
-- the owner.
DO $roles$
DECLARE
  s text := current_schema();
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tally_writer') THEN
    CREATE ROLE tally_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tally_reader') THEN
    CREATE ROLE tally_reader NOLOGIN;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO tally_writer, tally_reader', s);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I.view_partial TO tally_writer', s);
  EXECUTE format('GRANT SELECT ON %I.view_generation TO tally_writer, tally_reader', s);
  EXECUTE format(
    'GRANT SELECT ON %I.view_value, %I.served_view_value TO tally_writer, tally_reader', s, s);
END
$roles$;
