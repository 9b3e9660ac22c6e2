-- GCRA for every Redis-stored rate-limit policy of one request, all or nothing: the request
-- passes only if every key allows it, and only then are the keys' theoretical arrival times
-- (TAT, µs) moved forward. The arithmetic is leaderboard::ratelimit::decide's; edge::ratelimit
-- decides again in the core from the TATs returned and logs any disagreement.
-- `now` is Redis's clock, in whole milliseconds (as µs): the requests of a burst are decided in
-- the order they reach Redis on one clock, so a request whose own clock read a little earlier
-- than another's is not charged for the difference.
-- The keys are each policy's state key (none is named: from KEYS[K_MORE]); the arguments, per
-- key, its emission interval T (µs) and tolerance T × (burst − 1) (µs) (from ARGV[A_MORE]).
-- Answers {'allowed' or 'limited', now (µs), stored TAT of key 1 ('' if none), allowed by key 1
-- (1/0), …}.
local time = redis.call('TIME')
local now = (tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)) * 1000
local out = {'allowed', now}
local writes = {}
for i = K_MORE, #KEYS do
  local key, a = KEYS[i], A_MORE + 2 * (i - K_MORE)
  local t = tonumber(ARGV[a])
  local tolerance = tonumber(ARGV[a + 1])
  local stored = redis.call('GET', key)
  local tat = now
  if stored then
    tat = math.max(tonumber(stored), now)
    table.insert(out, stored)
  else
    table.insert(out, '')
  end
  if tat - now > tolerance then
    out[1] = 'limited'
    table.insert(out, 0)
  else
    table.insert(out, 1)
    local new_tat = tat + t
    table.insert(writes, {key, new_tat, math.floor((new_tat - now) / 1000) + 1})
  end
end
if out[1] == 'allowed' then
  for _, w in ipairs(writes) do
    redis.call('SET', w[1], string.format('%d', w[2]), 'PX', string.format('%d', w[3]))
  end
end
return out
