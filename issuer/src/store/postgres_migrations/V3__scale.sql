-- The registry on PostgreSQL, version 3: storage settings for a national registry
-- (spec/deployment.md, "PostgreSQL"). Named V3 so that a V2 (portraits) can land
-- beside it; refinery applies them in version order. Settings only: no table is
-- rebuilt, so it applies in milliseconds to a registry of any size.

-- A refresh rewrites its credential's row (new expiry, kid and package) and
-- changes no indexed column: with room left on the page PostgreSQL updates it in
-- place (a HOT update: no new index entries, less WAL, no index bloat). Applies to
-- pages written from now on.
ALTER TABLE credentials SET (fillfactor = 70);

-- Nonces live for minutes: every refresh inserts one and deletes the expired ones
-- through refresh_nonces_by_time (a range at the start of the index, never a full
-- scan). Vacuum it by row count, not by a fraction of the table, so the dead
-- entries at the start of that index are cleaned up within seconds at any size.
ALTER TABLE refresh_nonces SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0
);

-- The audit log only grows: vacuum it by inserted rows (visibility map kept
-- current for the index-only scans of the rate limit), never by a fraction of
-- half a billion rows.
ALTER TABLE audit SET (
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 1000000
);
