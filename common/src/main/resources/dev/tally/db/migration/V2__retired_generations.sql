-- Generations taken out of service by a cutover: kept for rollback until expires_at, then purged
-- (tally replay cutover/rollback/status --purge delete their view_partial rows). See docs/runbook.md.
CREATE TABLE retired_generation (
    generation integer     PRIMARY KEY,
    retired_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
