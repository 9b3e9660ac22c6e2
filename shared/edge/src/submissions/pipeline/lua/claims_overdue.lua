-- The boards noted longer than the reclaim time ago and not swept since (at most ARGV[3]), and
-- when the earliest was noted; read only.
-- KEYS: 1 register
-- ARGV: 1 now ms, 2 reclaim ms, 3 boards at most
-- Returns: how many are overdue, then the boards and their scores, flat.
local until_ms = tonumber(ARGV[1]) - tonumber(ARGV[2])
local n = redis.call('ZCOUNT', KEYS[1], '-inf', until_ms)
local out = {n}
local some = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', until_ms, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
for _, v in ipairs(some) do table.insert(out, v) end
return out
