-- The registry on PostgreSQL, version 5: refreshes update credentials in place.
--
-- A refresh rewrites a valid credential's kid, times and package. PostgreSQL
-- updates a row in place (a HOT update: no new index entries, the old version
-- pruned within its page) only when no column of any index changes, and V4's
-- partial index included `expires_at` and `issued_at`: every refresh wrote a new
-- entry into every index of `credentials`, which V3's fillfactor was meant to
-- avoid. The index keeps its rows (the non-valid credentials of an authority, by
-- serial) and `state`; a publish reads those few rows' times from the table.
--
-- Like V4, the build blocks writes to `credentials` while it runs: on a large live
-- registry run it in a quiet hour (minutes for tens of millions of credentials).
DROP INDEX IF EXISTS credentials_not_valid;
CREATE INDEX credentials_not_valid
    ON credentials (authority_code, serial)
    INCLUDE (state)
    WHERE state != 'valid';

-- A package is signed CBOR around a JPEG portrait: it does not compress, and
-- PostgreSQL tried to (pglz) on every refresh before storing it out of line.
-- EXTERNAL stores it out of line without the attempt.
ALTER TABLE credentials ALTER COLUMN package SET STORAGE EXTERNAL;
