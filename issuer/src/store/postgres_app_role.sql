-- The application role's privileges on the PostgreSQL registry (README, "The
-- registry on PostgreSQL"; spec/deployment.md). Run as the OWNER of the schema
-- (the role that ran the migrations), after the first migration and again after
-- each issuer upgrade:
--
--   psql "$OWNER_URL" -v ON_ERROR_STOP=1 -f issuer/src/store/postgres_app_role.sql
--
-- It grants to the group role issuer_app, created once per cluster by an
-- administrator, with one login role per clerk machine or serve node:
--
--   CREATE ROLE issuer_app NOLOGIN;
--   CREATE ROLE serve_node_1 LOGIN PASSWORD '…' IN ROLE issuer_app;
--
-- The application role owns nothing, so it can neither drop nor disable the
-- audit log's append-only triggers nor alter any table; it can read every table,
-- write what the use cases write, and delete nothing but expired refresh nonces.
-- UPDATE, DELETE and TRUNCATE on audit are not granted (and the triggers refuse
-- them even for the owner).

-- PostgreSQL 14 and older let every role create objects in `public`.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO issuer_app;
-- Reads, including refinery_schema_history (the schema version check on open).
GRANT SELECT ON ALL TABLES IN SCHEMA public TO issuer_app;
GRANT INSERT, UPDATE ON meta, authorities, keys, holders, portraits, credentials TO issuer_app;
GRANT INSERT ON audit TO issuer_app;
GRANT INSERT, DELETE ON refresh_nonces TO issuer_app;
-- The identity columns' sequences (new holders, portraits and audit entries).
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO issuer_app;
