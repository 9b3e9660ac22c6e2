-- Places players in the cohorts of a period (`leaderboard::competition::cohort`): a player
-- already placed keeps its placement; a new one takes the next arrival of its band. Only the
-- arrival is stored (and its band after a ':'): the cohort it falls in is the core's rule
-- (`cohort::place`), so counting here is all that must be atomic, and one counter per band
-- orders every first submission however many race.
-- K.arrivals: `n` / `n:<band>` → arrivals counted; K.placements: player → its arrival.
-- The players follow A.expire_at_ms (from ARGV[A_MORE]) in pairs: player, band ('' = none).
-- Answers {'placed', the players' placements as stored, in the order given}, or {'board_gone'}
-- (nothing is written: its keys must not come back after its delete).
if redis.call('EXISTS', K.config) == 0 then return {'board_gone'} end
local out = {'placed'}
for a = A_MORE, #ARGV, 2 do
  local player, band = ARGV[a], ARGV[a + 1]
  local placed = redis.call('HGET', K.placements, player)
  if not placed then
    if band == '' then
      placed = tostring(redis.call('HINCRBY', K.arrivals, 'n', 1))
    else
      placed = redis.call('HINCRBY', K.arrivals, 'n:' .. band, 1) .. ':' .. band
    end
    redis.call('HSET', K.placements, player, placed)
  end
  table.insert(out, placed)
end
if A.expire_at_ms ~= '0' then
  redis.call('PEXPIREAT', K.arrivals, A.expire_at_ms)
  redis.call('PEXPIREAT', K.placements, A.expire_at_ms)
end
return out
