-- A board's stats for a window (`leaderboard::stats`), in one round trip.
-- The minutes' keys follow the named keys (from KEYS[K_MORE]), per minute of the window, oldest
-- first: the minute's counters, its players, its climbers. The counter fields follow A.shown
-- (from ARGV[A_MORE]), in the order answered.
-- Answers {'stats', players in the period, best rank value ('' = none), worst rank value
--          ('' = none), distinct players of the window,
--          per step: each counter, then its distinct players,
--          n climbers, then n × (player, ranks gained, current rank (0 = none))}
local per, shown = tonumber(A.per_step), tonumber(A.shown)
local fields = {}
for i = A_MORE, #ARGV do fields[#fields + 1] = ARGV[i] end
local minutes = (#KEYS - K_MORE + 1) / 3
local out = {redis.call('ZCARD', K.ranks), '', '', 0}
local best = redis.call('ZRANGE', K.ranks, 0, 0, 'WITHSCORES')
if best[2] then out[2] = best[2] end
local worst = redis.call('ZRANGE', K.ranks, -1, -1, 'WITHSCORES')
if worst[2] then out[3] = worst[2] end
-- Only minutes that counted something have players or climbers.
local active_players, active_climbs = {}, {}
for s = 0, minutes / per - 1 do
  local sums, players = {}, {}
  for m = s * per, s * per + per - 1 do
    local base = K_MORE + m * 3
    local h = redis.call('HGETALL', KEYS[base])
    if #h > 0 then
      for i = 1, #h, 2 do sums[h[i]] = (sums[h[i]] or 0) + tonumber(h[i + 1]) end
      players[#players + 1] = KEYS[base + 1]
      active_players[#active_players + 1] = KEYS[base + 1]
      active_climbs[#active_climbs + 1] = KEYS[base + 2]
    end
  end
  for _, f in ipairs(fields) do out[#out + 1] = sums[f] or 0 end
  if #players > 0 then
    out[#out + 1] = redis.call('PFCOUNT', unpack(players))
  else
    out[#out + 1] = 0
  end
end
if #active_players > 0 then out[4] = redis.call('PFCOUNT', unpack(active_players)) end
local n_at = #out + 1
out[n_at] = 0
if #active_climbs > 0 and shown > 0 then
  local args = {'ZUNION', #active_climbs}
  for _, k in ipairs(active_climbs) do args[#args + 1] = k end
  args[#args + 1] = 'WITHSCORES'
  local all = redis.call(unpack(args))
  -- Ascending by ranks gained: the climbers are at the end.
  local i = #all - 1
  while i >= 1 and out[n_at] < shown do
    local player, gained = all[i], all[i + 1]
    local rank = 0
    local member = redis.call('HGET', K.members, player)
    if member then
      local score = redis.call('ZSCORE', K.ranks, member)
      if score then rank = redis.call('ZCOUNT', K.ranks, '-inf', '(' .. score) + 1 end
    end
    out[#out + 1] = player
    out[#out + 1] = gained
    out[#out + 1] = rank
    out[n_at] = out[n_at] + 1
    i = i - 2
  end
end
table.insert(out, 1, 'stats')
return out
