-- The board config and a player's record in the board's current period; with an Idempotency-Key,
-- also reserves it (or reports what it holds).
-- KEYS: 1 config, 2..5 the record hashes of the current all_time/daily/weekly/monthly periods,
--       [6 the idempotency key]
-- ARGV: 1 player, [2 reservation value, 3 lease ms]
-- Returns {''} for no board; {config, record or ''} without a key; with one, then 1 (reserved)
-- or 0 and the value the key holds.
local cfg = redis.call('GET', KEYS[1])
if not cfg then return {''} end
local kinds = {all_time = 2, daily = 3, weekly = 4, monthly = 5}
local key = KEYS[kinds[cjson.decode(cfg).period] or 2]
local rec = redis.call('HGET', key, ARGV[1]) or ''
if not KEYS[6] then return {cfg, rec} end
if redis.call('SET', KEYS[6], ARGV[2], 'NX', 'PX', ARGV[3]) then return {cfg, rec, 1} end
return {cfg, rec, 0, redis.call('GET', KEYS[6]) or ''}
