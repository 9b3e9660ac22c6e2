-- The sweep's register of boards whose drains may have left inbox entries claimed (a drain that
-- died between claiming a batch and applying it), and its alarm.
-- Notes ARGV[4] (a drain about to claim; '' for none): its score becomes now, or one past the old
-- score when that is not older, so a note always changes it and a sweep that leased the board
-- sees it. Then leases up to ARGV[3] boards due (noted at least ARGV[2] ms ago): each one's score
-- becomes now, so no other sweep takes it within the reclaim time, and the caller drains it.
-- Last, the alarm is armed (alarm_arm.lua) for when the earliest board still noted falls due.
-- KEYS: 1 register (sorted set: board -> when noted or leased, ms), 2 alarm
-- ARGV: 1 now ms, 2 reclaim ms, 3 boards to lease at most, 4 board to note or ''
-- Returns the leased boards, flat: board, lease (its score now), ...
local now = tonumber(ARGV[1])
local reclaim = tonumber(ARGV[2])
if ARGV[4] ~= '' then
  local at = now
  local old = redis.call('ZSCORE', KEYS[1], ARGV[4])
  if old and tonumber(old) >= at then at = tonumber(old) + 1 end
  redis.call('ZADD', KEYS[1], at, ARGV[4])
end
local out = {}
local limit = tonumber(ARGV[3])
if limit > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - reclaim, 'LIMIT', 0, limit)
  for _, board in ipairs(due) do
    redis.call('ZADD', KEYS[1], now, board)
    table.insert(out, board)
    table.insert(out, now)
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then arm(KEYS[2], now, tonumber(first[2]) + reclaim, first[1]) end
return out
