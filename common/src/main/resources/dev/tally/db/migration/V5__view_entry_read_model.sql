-- The served values as a table maintained at write time (issue: the read side), instead of a merge
-- of the partials at every read. One row per entry: the writers' partials merged field by field,
-- the sum of their versions, and the ranking score as a column, indexed for the top of a ranking.
--
-- A statement-level trigger on view_partial applies what each statement changed as a delta: a sum
-- field adds (new - old) of the writer's partial, a max field raises, a min field lowers — exact,
-- since a writer's max only grows and its min only shrinks from version to version (as Valkey's
-- script merges). The delta is applied in the upsert's SET to the row as it is when the row lock is
-- taken, so two writers of one entry committing concurrently both count (a recomputation from the
-- partials would read a snapshot without the other's). Statements applying changes to the same
-- generation take turns (a transaction-scoped advisory lock per generation), so two writers'
-- transactions never hold entry rows the other waits for.
CREATE TABLE view_entry (
    generation  integer     NOT NULL,
    view        text        NOT NULL,
    entry_key   text        NOT NULL,
    version     bigint      NOT NULL,  -- sum of the writers' versions
    value       jsonb       NOT NULL,  -- {"points": 130, "events": 4}: merged
    ops         jsonb       NOT NULL,  -- {"points": "sum", …}
    rank_set    text,
    rank_member text,
    rank_field  text,
    rank_score  numeric,               -- value ->> rank_field, for the index below
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (generation, view, entry_key)
) WITH (fillfactor = 60);

-- A ranking's top, in Valkey's order: score descending, ties by member in descending byte order.
CREATE INDEX view_entry_rank ON view_entry
    (generation, view, rank_set, rank_score DESC, rank_member COLLATE "C" DESC)
    WHERE rank_set IS NOT NULL;

-- current merged with a change: sums added, maxes raised, mins lowered, field by field.
CREATE FUNCTION tally_merge(current jsonb, change jsonb, ops jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(current, '{}'::jsonb) || coalesce(jsonb_object_agg(c.key,
           CASE ops ->> c.key
             WHEN 'max' THEN greatest((current ->> c.key)::numeric, c.value::numeric)
             WHEN 'min' THEN least((current ->> c.key)::numeric, c.value::numeric)
             ELSE coalesce((current ->> c.key)::numeric, 0) + c.value::numeric
           END), '{}'::jsonb)
  FROM jsonb_each_text(change) c
$$;

-- Applies what a statement wrote to view_partial (changed: the rows as written; previous: as they
-- were, for updates) to view_entry: per entry, the version and field changes of every writer the
-- statement wrote, as one upsert.
CREATE FUNCTION view_entry_apply_inserts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  -- One statement at a time applies a generation's changes, until its transaction ends: an
  -- upsert fires its UPDATE and then its INSERT trigger, two passes that each lock entries in key
  -- order but not in one order together, so two writers' statements could lock each other's
  -- entries crosswise. The sink commits right after its statement; the lock is held that long.
  PERFORM pg_advisory_xact_lock(1953719668, g.generation)
  FROM (SELECT DISTINCT generation FROM changed ORDER BY generation) g;
  WITH written AS (
    SELECT n.generation, n.view, n.entry_key, n.version - 0 AS version_change,
           n.fields, NULL::jsonb AS old_fields, n.ops, n.rank_set, n.rank_member, n.rank_field
    FROM changed n 
  ), field_changes AS (
    SELECT generation, view, entry_key, field, op,
           CASE op WHEN 'max' THEN max(value) WHEN 'min' THEN min(value)
                   ELSE sum(value - coalesce(old_value, 0)) END AS value
    FROM (SELECT w.generation, w.view, w.entry_key, f.key AS field, w.ops ->> f.key AS op,
                 f.value::numeric AS value, (w.old_fields ->> f.key)::numeric AS old_value
          FROM written w CROSS JOIN LATERAL jsonb_each_text(w.fields) f) per_field
    GROUP BY generation, view, entry_key, field, op
  ), entry_fields AS (
    SELECT generation, view, entry_key, jsonb_object_agg(field, value) AS value,
           jsonb_object_agg(field, op) AS ops
    FROM field_changes GROUP BY generation, view, entry_key
  ), entry_changes AS (
    SELECT generation, view, entry_key, sum(version_change) AS version_change,
           max(rank_set) AS rank_set, max(rank_member) AS rank_member, max(rank_field) AS rank_field
    FROM written GROUP BY generation, view, entry_key
  )
  INSERT INTO view_entry AS e (generation, view, entry_key, version, value, ops, rank_set,
                               rank_member, rank_field, rank_score, updated_at)
  SELECT c.generation, c.view, c.entry_key, c.version_change, f.value, f.ops, c.rank_set,
         c.rank_member, c.rank_field, (f.value ->> c.rank_field)::numeric, now()
  FROM entry_changes c JOIN entry_fields f USING (generation, view, entry_key)
  ORDER BY c.generation, c.view, c.entry_key
  ON CONFLICT (generation, view, entry_key) DO UPDATE SET
    version = e.version + excluded.version,
    value = tally_merge(e.value, excluded.value, excluded.ops),
    ops = e.ops || excluded.ops,
    rank_set = coalesce(excluded.rank_set, e.rank_set),
    rank_member = coalesce(excluded.rank_member, e.rank_member),
    rank_field = coalesce(excluded.rank_field, e.rank_field),
    rank_score = (tally_merge(e.value, excluded.value, excluded.ops)
                  ->> coalesce(excluded.rank_field, e.rank_field))::numeric,
    updated_at = now();
  RETURN NULL;
END
$$;

CREATE FUNCTION view_entry_apply_updates() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  -- One statement at a time applies a generation's changes, until its transaction ends: an
  -- upsert fires its UPDATE and then its INSERT trigger, two passes that each lock entries in key
  -- order but not in one order together, so two writers' statements could lock each other's
  -- entries crosswise. The sink commits right after its statement; the lock is held that long.
  PERFORM pg_advisory_xact_lock(1953719668, g.generation)
  FROM (SELECT DISTINCT generation FROM changed ORDER BY generation) g;
  WITH written AS (
    SELECT n.generation, n.view, n.entry_key, n.version - coalesce(o.version, 0) AS version_change,
           n.fields, o.fields AS old_fields, n.ops, n.rank_set, n.rank_member, n.rank_field
    FROM changed n LEFT JOIN previous o USING (generation, view, entry_key, writer)
  ), field_changes AS (
    SELECT generation, view, entry_key, field, op,
           CASE op WHEN 'max' THEN max(value) WHEN 'min' THEN min(value)
                   ELSE sum(value - coalesce(old_value, 0)) END AS value
    FROM (SELECT w.generation, w.view, w.entry_key, f.key AS field, w.ops ->> f.key AS op,
                 f.value::numeric AS value, (w.old_fields ->> f.key)::numeric AS old_value
          FROM written w CROSS JOIN LATERAL jsonb_each_text(w.fields) f) per_field
    GROUP BY generation, view, entry_key, field, op
  ), entry_fields AS (
    SELECT generation, view, entry_key, jsonb_object_agg(field, value) AS value,
           jsonb_object_agg(field, op) AS ops
    FROM field_changes GROUP BY generation, view, entry_key
  ), entry_changes AS (
    SELECT generation, view, entry_key, sum(version_change) AS version_change,
           max(rank_set) AS rank_set, max(rank_member) AS rank_member, max(rank_field) AS rank_field
    FROM written GROUP BY generation, view, entry_key
  )
  INSERT INTO view_entry AS e (generation, view, entry_key, version, value, ops, rank_set,
                               rank_member, rank_field, rank_score, updated_at)
  SELECT c.generation, c.view, c.entry_key, c.version_change, f.value, f.ops, c.rank_set,
         c.rank_member, c.rank_field, (f.value ->> c.rank_field)::numeric, now()
  FROM entry_changes c JOIN entry_fields f USING (generation, view, entry_key)
  ORDER BY c.generation, c.view, c.entry_key
  ON CONFLICT (generation, view, entry_key) DO UPDATE SET
    version = e.version + excluded.version,
    value = tally_merge(e.value, excluded.value, excluded.ops),
    ops = e.ops || excluded.ops,
    rank_set = coalesce(excluded.rank_set, e.rank_set),
    rank_member = coalesce(excluded.rank_member, e.rank_member),
    rank_field = coalesce(excluded.rank_field, e.rank_field),
    rank_score = (tally_merge(e.value, excluded.value, excluded.ops)
                  ->> coalesce(excluded.rank_field, e.rank_field))::numeric,
    updated_at = now();
  RETURN NULL;
END
$$;

CREATE TRIGGER view_entry_inserts AFTER INSERT ON view_partial
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION view_entry_apply_inserts();
CREATE TRIGGER view_entry_updates AFTER UPDATE ON view_partial
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION view_entry_apply_updates();

-- What the partials hold now, merged once (the same merge as the old view_value).
INSERT INTO view_entry (generation, view, entry_key, version, value, ops, rank_set, rank_member,
                        rank_field, rank_score, updated_at)
WITH field_values AS (
    SELECT p.generation, p.view, p.entry_key, f.key AS field, p.ops ->> f.key AS op,
           f.value::numeric AS value
    FROM view_partial p CROSS JOIN LATERAL jsonb_each_text(p.fields) f
), merged AS (
    SELECT generation, view, entry_key, jsonb_object_agg(field, value) AS value,
           jsonb_object_agg(field, op) AS ops
    FROM (SELECT generation, view, entry_key, field, op,
                 CASE op WHEN 'max' THEN max(value) WHEN 'min' THEN min(value)
                         ELSE sum(value) END AS value
          FROM field_values GROUP BY generation, view, entry_key, field, op) per_field
    GROUP BY generation, view, entry_key
), entries AS (
    SELECT generation, view, entry_key, sum(version) AS version, max(rank_set) AS rank_set,
           max(rank_member) AS rank_member, max(rank_field) AS rank_field,
           max(updated_at) AS updated_at
    FROM view_partial GROUP BY generation, view, entry_key
)
SELECT e.generation, e.view, e.entry_key, e.version, m.value, m.ops, e.rank_set, e.rank_member,
       e.rank_field, (m.value ->> e.rank_field)::numeric, e.updated_at
FROM entries e JOIN merged m USING (generation, view, entry_key);

-- The views readers query keep their names and columns (version is now a bigint), plus rank_score.
-- Dropping them drops their grants: run deploy/postgres/roles.sql again after this migration.
DROP VIEW served_view_value;
DROP VIEW view_value;
CREATE VIEW view_value AS
SELECT generation, view, entry_key, version, value, rank_set, rank_member, rank_field, updated_at,
       rank_score
FROM view_entry;
CREATE VIEW served_view_value AS
SELECT v.* FROM view_value v JOIN view_generation g ON v.generation = g.current;
