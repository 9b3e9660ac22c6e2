-- One step of a deleted board's sweep: UNLINKs the keys a SCAN step found under the board's
-- prefix, if the sweep is still this one's (the tombstone holds its token; a later delete or
-- creation of the id takes the sweep over by writing its own, and this one stops). On the last
-- step it deletes the tombstone too: from then on the id may be created anew.
-- The keys found follow the tombstone (from KEYS[K_MORE]; all under the board's prefix: one slot).
-- Answers {'swept', how many keys it deleted}, or {'taken_over'} when the sweep is no longer
-- this one's.
if redis.call('GET', K.tombstone) ~= A.token then return {'taken_over'} end
local n = 0
-- UNLINK in bounded batches: unpack's arguments live on Lua's stack.
local i = K_MORE
while i <= #KEYS do
  local j = math.min(i + 499, #KEYS)
  n = n + redis.call('UNLINK', unpack(KEYS, i, j))
  i = j + 1
end
if A.last == '1' then redis.call('DEL', K.tombstone) end
return {'swept', n}
