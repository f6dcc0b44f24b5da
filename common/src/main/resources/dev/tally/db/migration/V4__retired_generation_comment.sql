-- V2's comment names a `tally replay status --purge` that does not exist (an applied migration is
-- not edited: its checksum is recorded). What purges a retired generation's view_partial rows is
-- every later cutover, and so every rollback, once its expires_at has passed.
COMMENT ON TABLE retired_generation IS
    'Generations taken out of service by a cutover, kept for rollback until expires_at; every later tally replay cutover or rollback deletes the view_partial rows of those whose expires_at has passed (docs/runbook.md).';
