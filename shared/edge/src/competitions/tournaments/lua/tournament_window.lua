-- A tournament's window changed (ended early or extended: the board's config rewritten with the
-- window the core decided), only if the config is still the one the decision was made on and
-- the tournament's end was not announced (an ended tournament's standings are final).
-- KEYS: 1 the board's config, 2 its announcements (hash)
-- ARGV: 1 the config as read, 2 the new config, 3 '1' when an admin ended it early, 4 the new
--       end (Unix ms: kept as `end`, which a score's write checks against the end it decided on)
-- Returns {1} changed, {0} the config changed since it was read (decide again), {2} the end was
-- announced; {} when the board is gone.
local cfg = redis.call('GET', KEYS[1])
if not cfg then return {} end
if redis.call('HEXISTS', KEYS[2], 'ended') == 1 then return {2} end
if cfg ~= ARGV[1] then return {0} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'end', ARGV[4])
if ARGV[3] == '1' then redis.call('HSET', KEYS[2], 'early', '1') end
return {1}
