-- Copies a projection (periods set and every period's record hash, member hash and sorted set)
-- from one prefix to another, replacing what is there; the copies get a lifetime.
-- KEYS: 1 source periods set, 2 target periods set
-- ARGV: 1 source prefix, 2 target prefix, 3 lifetime ms of the copies
-- Returns the number of periods copied.
local n = 0
for _, p in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, kind in ipairs({'r:', 'm:', 'z:'}) do
    local src, dst = ARGV[1] .. kind .. p, ARGV[2] .. kind .. p
    if redis.call('COPY', src, dst, 'REPLACE') == 1 then redis.call('PEXPIRE', dst, ARGV[3]) end
  end
  n = n + 1
end
if redis.call('COPY', KEYS[1], KEYS[2], 'REPLACE') == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return n
