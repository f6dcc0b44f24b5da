-- The served values as a table maintained at write time (issue: the read side), instead of a merge
-- of the partials at every read. One row per entry: the writers' partials merged field by field,
-- the sum of their versions, and the ranking score as a column, indexed for the top of a ranking.
--
-- Statement-level triggers on view_partial recompute each entry a statement wrote from its
-- partials (the same merge as V1's view, for those entries only), one statement per generation at
-- a time (a transaction-scoped advisory lock). Measured: a 100k-row upsert takes about four times
-- as long as without the read model (BENCHMARKS.md, "PostgreSQL read model").
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

-- Recomputes, from their partials, every entry a statement wrote to (changed: the rows as
-- written). Entries have a few partials each (one per writer), so this reads a few rows per entry.
CREATE FUNCTION view_entry_recompute() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  -- One statement at a time recomputes a generation's entries, until its transaction ends. What
  -- it reads is then every committed partial and its own: of two writers of one entry committing
  -- close together, the second to take the lock sees the first's partial and writes the entry
  -- whole. (Without the lock, each could read the other's partial uncommitted, i.e. not at all.)
  -- The sink commits right after its statement; the lock is held that long.
  PERFORM pg_advisory_xact_lock(1953719668, g.generation)
  FROM (SELECT DISTINCT generation FROM changed ORDER BY generation) g;
  WITH keys AS (
    SELECT DISTINCT generation, view, entry_key FROM changed
  ), partials AS (
    SELECT p.* FROM keys k JOIN view_partial p USING (generation, view, entry_key)
  ), per_field AS (
    SELECT p.generation, p.view, p.entry_key, f.key AS field, p.ops ->> f.key AS op,
           CASE p.ops ->> f.key WHEN 'max' THEN max(f.value::numeric)
                                WHEN 'min' THEN min(f.value::numeric)
                                ELSE sum(f.value::numeric) END AS value
    FROM partials p CROSS JOIN LATERAL jsonb_each_text(p.fields) f
    GROUP BY p.generation, p.view, p.entry_key, f.key, p.ops ->> f.key
  ), merged AS (
    SELECT generation, view, entry_key, jsonb_object_agg(field, value) AS value,
           jsonb_object_agg(field, op) AS ops
    FROM per_field GROUP BY generation, view, entry_key
  ), entries AS (
    SELECT generation, view, entry_key, sum(version) AS version, max(rank_set) AS rank_set,
           max(rank_member) AS rank_member, max(rank_field) AS rank_field
    FROM partials GROUP BY generation, view, entry_key
  )
  INSERT INTO view_entry AS e (generation, view, entry_key, version, value, ops, rank_set,
                               rank_member, rank_field, rank_score, updated_at)
  SELECT n.generation, n.view, n.entry_key, n.version, m.value, m.ops, n.rank_set, n.rank_member,
         n.rank_field, (m.value ->> n.rank_field)::numeric, now()
  FROM entries n JOIN merged m USING (generation, view, entry_key)
  ON CONFLICT (generation, view, entry_key) DO UPDATE SET
    version = excluded.version, value = excluded.value, ops = excluded.ops,
    rank_set = excluded.rank_set, rank_member = excluded.rank_member,
    rank_field = excluded.rank_field, rank_score = excluded.rank_score, updated_at = now();
  RETURN NULL;
END
$$;

-- An upsert fires both: the UPDATE trigger for the rows it updated, the INSERT trigger for those
-- it inserted.
CREATE TRIGGER view_entry_inserts AFTER INSERT ON view_partial
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION view_entry_recompute();
CREATE TRIGGER view_entry_updates AFTER UPDATE ON view_partial
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION view_entry_recompute();

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
