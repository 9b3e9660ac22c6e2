-- Compares a slice of one projection's period with another's: for each entry of A's sorted set in
-- ranks [start, start + count), whether B has the same member (standing and achievement time),
-- rank value and record.
-- ARGV: 1 prefix A, 2 prefix B, 3 period, 4 start, 5 count
-- Returns {entries in A, entries in B, entries checked, then the players that differ}.
local p = ARGV[3]
local az, ar = ARGV[1] .. 'z:' .. p, ARGV[1] .. 'r:' .. p
local bz, bm, br = ARGV[2] .. 'z:' .. p, ARGV[2] .. 'm:' .. p, ARGV[2] .. 'r:' .. p
local start = tonumber(ARGV[4])
local rows = redis.call('ZRANGE', az, start, start + tonumber(ARGV[5]) - 1, 'WITHSCORES')
local out = {redis.call('ZCARD', az), redis.call('ZCARD', bz), #rows / 2}
for i = 1, #rows, 2 do
  local member, score = rows[i], rows[i + 1]
  local player = string.sub(member, 14)
  local same = redis.call('HGET', bm, player) == member
    and redis.call('ZSCORE', bz, member) == score
    and redis.call('HGET', br, player) == redis.call('HGET', ar, player)
  if not same then table.insert(out, player) end
end
return out
