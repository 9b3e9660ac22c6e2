-- Compares a slice of one projection's period with another's: for each entry of A's sorted set in
-- ranks [start, start + count), whether B has the same member (standing and achievement time),
-- rank value and record. Its keys are declared, so Redis Cluster and proxies route the script to
-- the board's slot.
-- Answers {'compared', entries in A, entries in B, entries checked, then the players that differ}.
local az, ar = K.a_ranking, K.a_records
local bz, bm, br = K.b_ranking, K.b_members, K.b_records
local start = tonumber(A.start)
local rows = redis.call('ZRANGE', az, start, start + tonumber(A.count) - 1, 'WITHSCORES')
local out = {'compared', redis.call('ZCARD', az), redis.call('ZCARD', bz), #rows / 2}
for i = 1, #rows, 2 do
  local member, score = rows[i], rows[i + 1]
  local player = string.sub(member, 14)
  local same = redis.call('HGET', bm, player) == member
    and redis.call('ZSCORE', bz, member) == score
    and redis.call('HGET', br, player) == redis.call('HGET', ar, player)
  if not same then table.insert(out, player) end
end
return out
