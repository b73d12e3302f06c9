-- `status_entries` (issuer publish) reads only the credentials of one authority that
-- are not valid, in serial order: a partial index on exactly those rows, so a
-- publish reads the few revoked, suspended and superseded rows of an authority, not
-- every credential it ever issued (the SQLite registry's `credentials_not_valid`).
-- The included columns let the query be answered from the index alone.
--
-- A plain CREATE INDEX blocks writes to `credentials` while it builds. On a large
-- live registry, build it first by hand with the same statement as
-- `CREATE INDEX CONCURRENTLY IF NOT EXISTS ...`; this migration then finds it there.
CREATE INDEX IF NOT EXISTS credentials_not_valid
    ON credentials (authority_code, serial)
    INCLUDE (state, expires_at, issued_at)
    WHERE state != 'valid';
