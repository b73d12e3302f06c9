-- The registry on PostgreSQL, version 6: a phone's lookups stay one index range
-- whatever the statistics say.
--
-- Every refresh finds the phone's holder (`WHERE device_key = $1 ORDER BY id
-- LIMIT 1`) and the holder's approved portrait (`WHERE holder_id = $1 AND state =
-- 'approved' ORDER BY id DESC LIMIT 1`). With indexes on (device_key) and
-- (holder_id, state) only, the planner may instead walk the primary key in id
-- order and filter each row, hoping to meet a match early, whenever the
-- statistics suggest that many rows match. Measured on the refresh bench (4,096
-- holders, plan chosen after an automatic ANALYZE): the batch's context read went
-- from 0.08 to 2.2 ms per refresh; on a national registry it would read the table.
-- With the order inside the index, the first entry of the range is the answer, and
-- no plan is cheaper.
--
-- The new indexes have new names, so that on a large live registry they can be
-- built first by hand with `CREATE INDEX CONCURRENTLY IF NOT EXISTS` and the same
-- columns; this migration then finds them and only drops the old ones.
CREATE INDEX IF NOT EXISTS holders_by_device_key_then_id ON holders (device_key, id);
DROP INDEX IF EXISTS holders_by_device_key;
CREATE INDEX IF NOT EXISTS portraits_by_holder_then_id ON portraits (holder_id, state, id);
DROP INDEX IF EXISTS portraits_by_holder;
