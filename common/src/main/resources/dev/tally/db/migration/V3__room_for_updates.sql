-- Room on every page of view_partial for a row's next version. The sink rewrites a partial each
-- time its entry changes; with free space on the page PostgreSQL updates the row in place (a HOT
-- update: no new index entries, nothing for VACUUM to clean in the indexes), which measured about
-- half the CPU per written row (BENCHMARKS.md, "PostgreSQL"). Applies to pages written from now on;
-- VACUUM FULL view_partial rewrites the existing ones.
ALTER TABLE view_partial SET (fillfactor = 60);
