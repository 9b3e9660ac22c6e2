-- A player's join of a tournament, decided here in one step (the count, the check against
-- max_size and the add: two joins at once never pass max_size): a join past max_size is refused
-- and counts nothing; joining again is no new join. The core names the outcome
-- (leaderboard::competition::tournament::JoinStep).
-- A.max_size: 0 is unlimited.
-- Answers {'joined', players joined before} (this join added the player), {'already', players
-- joined before} (it had joined before), {'full', players joined before} (not added: max_size
-- reached) or {'board_gone'}.
if redis.call('EXISTS', K.config) == 0 then return {'board_gone'} end
local before = redis.call('SCARD', K.joined)
if redis.call('SISMEMBER', K.joined, A.player) == 1 then return {'already', before} end
local max = tonumber(A.max_size)
if max == 0 or before < max then
  redis.call('SADD', K.joined, A.player)
  return {'joined', before}
end
return {'full', before}
