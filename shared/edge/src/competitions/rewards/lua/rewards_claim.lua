-- A player's claim of its award in a run: taken once (the first claim's time is kept, and every
-- claim after it is answered with it), only once the run is awarded and only for a player
-- awarded something. This script decides the claim and records the one it allows, in one step;
-- the Rust beside it only maps its answer to the outcome shown. Nothing is taken once the board
-- is deleted (its awards are swept after it).
-- Answers {'claimed', rank, cohort ('' = none)} (taken now), {'claimed_before', rank, when
-- (Unix ms), cohort ('' = none)} (this claim took nothing), {'not_awarded'} (the run's awards
-- are not made), {'no_award'} (the player was awarded nothing) or {'board_gone'}.
if redis.call('EXISTS', K.config) == 0 then return {'board_gone'} end
local got = redis.call('HMGET', K.awards, '_at', 'p:' .. A.player, 'c:' .. A.player, 'g:' .. A.player)
if not got[1] then return {'not_awarded'} end
if not got[2] then return {'no_award'} end
local cohort = got[4] or ''
if got[3] then return {'claimed_before', got[2], got[3], cohort} end
redis.call('HSET', K.awards, 'c:' .. A.player, A.now_ms)
return {'claimed', got[2], cohort}
