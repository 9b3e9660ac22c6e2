-- GCRA for every Redis-stored rate-limit policy of one request, all or nothing: the request
-- passes only if every key allows it, and only then are the keys' theoretical arrival times
-- (TAT, µs) moved forward. The arithmetic is leaderboard::ratelimit::decide's; edge::ratelimit
-- decides again in the core from the TATs returned and logs any disagreement.
-- `now` is Redis's clock, in whole milliseconds (as µs): the requests of a burst are decided in
-- the order they reach Redis on one clock, so a request whose own clock read a little earlier
-- than another's is not charged for the difference.
-- KEYS: the state key of each policy
-- ARGV: per key: emission interval T (µs), tolerance T × (burst − 1) (µs)
-- Returns {allowed (1/0), now (µs), stored TAT of key 1 (or -1), allowed by key 1 (1/0), …}.
local time = redis.call('TIME')
local now = (tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)) * 1000
local out = {1, now}
local writes = {}
for i, key in ipairs(KEYS) do
  local t = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local stored = redis.call('GET', key)
  local tat = now
  if stored then
    tat = math.max(tonumber(stored), now)
    table.insert(out, stored)
  else
    table.insert(out, -1)
  end
  if tat - now > tolerance then
    out[1] = 0
    table.insert(out, 0)
  else
    table.insert(out, 1)
    local new_tat = tat + t
    table.insert(writes, {key, new_tat, math.floor((new_tat - now) / 1000) + 1})
  end
end
if out[1] == 1 then
  for _, w in ipairs(writes) do
    redis.call('SET', w[1], string.format('%d', w[2]), 'PX', string.format('%d', w[3]))
  end
end
return out
