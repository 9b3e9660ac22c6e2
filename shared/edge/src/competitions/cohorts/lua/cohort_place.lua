-- Places players in the cohorts of a period (`leaderboard::competition::cohort`): a player
-- already placed keeps its placement; a new one takes the next arrival of its band. Only the
-- arrival is stored (and its band after a ':'): the cohort it falls in is the core's rule
-- (`cohort::place`), so counting here is all that must be atomic, and one counter per band
-- orders every first submission however many race.
-- KEYS: 1 the period's arrival counters (hash: `n` / `n:<band>` → arrivals counted), 2 the
--       period's placements (hash: player → its arrival), 3 the board's config
-- ARGV: 1 expire at ms ('0' = never), then pairs: player, band ('' = none)
-- Returns the players' placements as stored, in the order given, or {} when the board is gone
-- (nothing is written: its keys must not come back after its delete).
if redis.call('EXISTS', KEYS[3]) == 0 then return {} end
local out = {}
for a = 2, #ARGV, 2 do
  local player, band = ARGV[a], ARGV[a + 1]
  local placed = redis.call('HGET', KEYS[2], player)
  if not placed then
    if band == '' then
      placed = tostring(redis.call('HINCRBY', KEYS[1], 'n', 1))
    else
      placed = redis.call('HINCRBY', KEYS[1], 'n:' .. band, 1) .. ':' .. band
    end
    redis.call('HSET', KEYS[2], player, placed)
  end
  table.insert(out, placed)
end
if ARGV[1] ~= '0' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
  redis.call('PEXPIREAT', KEYS[2], ARGV[1])
end
return out
