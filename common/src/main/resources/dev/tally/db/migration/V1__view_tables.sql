-- Tally's durable read model. See docs/views.md.
--
-- One row per view entry and writer: that writer's whole partial value, kept only when its
-- version is newer (the sink's upsert is guarded by version). Served values merge the partials of
-- every writer of an entry, field by field, in view_value.
CREATE TABLE view_partial (
    generation  integer     NOT NULL,
    view        text        NOT NULL,
    entry_key   text        NOT NULL,
    writer      text        NOT NULL,
    version     bigint      NOT NULL,
    partial     text        NOT NULL,  -- op:field=value;... as in Valkey
    fields      jsonb       NOT NULL,  -- {"points": 10, "events": 3}
    ops         jsonb       NOT NULL,  -- {"points": "sum", "events": "sum"}
    rank_set    text,                  -- the ranking this entry is a member of (e.g. a hunt), or null
    rank_member text,
    rank_field  text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (generation, view, entry_key, writer)
);

CREATE INDEX view_partial_rank ON view_partial (generation, view, rank_set) WHERE rank_set IS NOT NULL;

-- The generation readers are served; a rebuild flips it in one transaction.
CREATE TABLE view_generation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    current    integer NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO view_generation (singleton, current) VALUES (true, 1);

-- Served values: every writer's partial merged with its field's op; version = sum of versions.
CREATE VIEW view_value AS
WITH field_values AS (
    SELECT p.generation, p.view, p.entry_key, f.key AS field, p.ops ->> f.key AS op, f.value::numeric AS value
    FROM view_partial p CROSS JOIN LATERAL jsonb_each_text(p.fields) f
), merged AS (
    SELECT generation, view, entry_key, field,
           CASE op WHEN 'max' THEN max(value) WHEN 'min' THEN min(value) ELSE sum(value) END AS value
    FROM field_values
    GROUP BY generation, view, entry_key, field, op
), entries AS (
    SELECT generation, view, entry_key, sum(version) AS version, max(rank_set) AS rank_set,
           max(rank_member) AS rank_member, max(rank_field) AS rank_field, max(updated_at) AS updated_at
    FROM view_partial
    GROUP BY generation, view, entry_key
)
SELECT e.generation, e.view, e.entry_key, e.version, jsonb_object_agg(m.field, m.value) AS value,
       e.rank_set, e.rank_member, e.rank_field, e.updated_at
FROM entries e JOIN merged m USING (generation, view, entry_key)
GROUP BY e.generation, e.view, e.entry_key, e.version, e.rank_set, e.rank_member, e.rank_field, e.updated_at;

-- What readers see: the current generation only.
CREATE VIEW served_view_value AS
SELECT v.* FROM view_value v JOIN view_generation g ON v.generation = g.current;
