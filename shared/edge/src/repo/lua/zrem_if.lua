-- Removes A.member from the sorted set K.set only while its score is A.score (what the caller
-- holds or read): a register's item (a worker's lease or an early end's note: one noted again
-- meanwhile keeps its time), a tenant's tournament index or a player's joined tournaments (an
-- entry written again meanwhile stays).
-- Answers {'removed'} or {'kept'}.
local score = redis.call('ZSCORE', K.set, A.member)
if score and tonumber(score) == tonumber(A.score) then
  redis.call('ZREM', K.set, A.member)
  return {'removed'}
end
return {'kept'}
