-- Copies a projection (periods set and every period's record hash, member hash and sorted set)
-- from one prefix to another, replacing what is there; the copies get a lifetime.
-- Answers {'copied', the number of periods copied}.
local n = 0
for _, p in ipairs(redis.call('SMEMBERS', K.from_periods)) do
  for _, kind in ipairs({'r:', 'm:', 'z:'}) do
    local src, dst = A.from_prefix .. kind .. p, A.to_prefix .. kind .. p
    if redis.call('COPY', src, dst, 'REPLACE') == 1 then redis.call('PEXPIRE', dst, A.ttl_ms) end
  end
  n = n + 1
end
if redis.call('COPY', K.from_periods, K.to_periods, 'REPLACE') == 1 then
  redis.call('PEXPIRE', K.to_periods, A.ttl_ms)
end
return {'copied', n}
