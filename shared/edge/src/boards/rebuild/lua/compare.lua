-- Compares a slice of one projection's period with another's: for each entry of A's sorted set in
-- ranks [start, start + count), whether B has the same member (standing and achievement time),
-- rank value and record.
-- KEYS (declared, so Redis Cluster and proxies route the script to the board's slot):
--   1 A's sorted set, 2 A's records, 3 B's sorted set, 4 B's members, 5 B's records (of the period)
-- ARGV: 1 start, 2 count
-- Returns {entries in A, entries in B, entries checked, then the players that differ}.
local az, ar = KEYS[1], KEYS[2]
local bz, bm, br = KEYS[3], KEYS[4], KEYS[5]
local start = tonumber(ARGV[1])
local rows = redis.call('ZRANGE', az, start, start + tonumber(ARGV[2]) - 1, 'WITHSCORES')
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
