-- One step of a deleted board's sweep: UNLINKs the keys a SCAN step found under the board's
-- prefix, if the sweep is still this one's (the tombstone holds its token; a later delete or
-- creation of the id takes the sweep over by writing its own, and this one stops). On the last
-- step it deletes the tombstone too: from then on the id may be created anew.
-- KEYS: 1 tombstone, 2.. the keys found (all under the board's prefix: one slot).
-- ARGV: 1 the sweep's token, 2 '1' on the last step.
-- Returns how many keys it deleted, or -1 when the sweep is no longer this one's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local n = 0
-- UNLINK in bounded batches: unpack's arguments live on Lua's stack.
local i = 2
while i <= #KEYS do
  local j = math.min(i + 499, #KEYS)
  n = n + redis.call('UNLINK', unpack(KEYS, i, j))
  i = j + 1
end
if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
return n
