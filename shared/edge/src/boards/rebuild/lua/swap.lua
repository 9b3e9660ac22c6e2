-- Swaps a replayed projection in for the live one, atomically, if the log has not moved since the
-- replay read it (else the caller folds the new tail and tries again).
-- The periods follow the named arguments (from ARGV[A_MORE]): per replayed period, its id and its
-- expiry ms ('0': never).
-- Answers {'moved', the log's last event id} when the log moved, else {'swapped', the board's new
-- version}.
local live, fresh = A.live_prefix, A.fresh_prefix
local last = redis.call('XREVRANGE', K.events, '+', '-', 'COUNT', 1)[1]
local last_id = last and last[1] or ''
if last_id ~= A.last then return {'moved', last_id} end
for _, p in ipairs(redis.call('SMEMBERS', K.live_periods)) do
  redis.call('UNLINK', live .. 'r:' .. p, live .. 'm:' .. p, live .. 'z:' .. p)
end
redis.call('UNLINK', K.live_periods)
for a = A_MORE, #ARGV, 2 do
  local p, expire = ARGV[a], ARGV[a + 1]
  for _, kind in ipairs({'r:', 'm:', 'z:'}) do
    local src, dst = fresh .. kind .. p, live .. kind .. p
    if redis.call('EXISTS', src) == 1 then
      redis.call('RENAME', src, dst)
      if expire == '0' then redis.call('PERSIST', dst) else redis.call('PEXPIREAT', dst, expire) end
    end
  end
end
if redis.call('EXISTS', K.fresh_periods) == 1 then
  redis.call('RENAME', K.fresh_periods, K.live_periods)
  redis.call('PERSIST', K.live_periods)
end
return {'swapped', redis.call('INCR', K.version)}
