-- Creates a board: its config, its version counter and its board_created event (the log's first),
-- and clears the mark of its creation on its way (a tournament's: set before the board is stored).
-- Answers {'created'}, {'exists'} when the board exists, or {'being_swept'} while an earlier board
-- of this id is still being swept (its tombstone is there: the caller sweeps, then creates).
if redis.call('EXISTS', K.tombstone) == 1 then return {'being_swept'} end
if not redis.call('SET', K.config, A.config, 'NX') then return {'exists'} end
redis.call('SET', K.version, A.version)
redis.call('XADD', K.events, '*', 'event', A.event)
redis.call('DEL', K.creating)
return {'created'}
