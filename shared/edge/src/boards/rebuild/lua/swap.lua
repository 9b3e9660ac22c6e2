-- Swaps a replayed projection in for the live one, atomically, if the log has not moved since the
-- replay read it (else the caller folds the new tail and tries again).
-- KEYS: 1 events, 2 live periods set, 3 replayed periods set, 4 version
-- ARGV: 1 live prefix, 2 replayed prefix, 3 the last event the replay folded ('' for none), then
--       per replayed period: period id, its expiry ms ('0': never)
-- Returns {0, the log's last event id} when the log moved, else {1, the board's new version}.
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local last_id = last and last[1] or ''
if last_id ~= ARGV[3] then return {0, last_id} end
for _, p in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('UNLINK', ARGV[1] .. 'r:' .. p, ARGV[1] .. 'm:' .. p, ARGV[1] .. 'z:' .. p)
end
redis.call('UNLINK', KEYS[2])
for a = 4, #ARGV, 2 do
  local p, expire = ARGV[a], ARGV[a + 1]
  for _, kind in ipairs({'r:', 'm:', 'z:'}) do
    local src, dst = ARGV[2] .. kind .. p, ARGV[1] .. kind .. p
    if redis.call('EXISTS', src) == 1 then
      redis.call('RENAME', src, dst)
      if expire == '0' then redis.call('PERSIST', dst) else redis.call('PEXPIREAT', dst, expire) end
    end
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RENAME', KEYS[3], KEYS[2])
  redis.call('PERSIST', KEYS[2])
end
return {1, redis.call('INCR', KEYS[4])}
