-- Moves dead letters back into the inbox (each only if it is still a dead letter: two concurrent
-- redrives do not duplicate it), then rings the doorbell.
-- KEYS: 1 dead letters, 2 inbox
-- ARGV: 1 doorbell channel, 2 doorbell payload, then per letter: dead letter id, field count,
--       fields and values
-- Returns the number of letters moved.
local moved = 0
local a = 3
while a <= #ARGV do
  local id, n = ARGV[a], tonumber(ARGV[a + 1])
  local fields = {}
  for i = 1, n do fields[i] = ARGV[a + 1 + i] end
  a = a + 2 + n
  if #redis.call('XRANGE', KEYS[1], id, id) > 0 then
    redis.call('XADD', KEYS[2], '*', unpack(fields))
    redis.call('XDEL', KEYS[1], id)
    moved = moved + 1
  end
end
if moved > 0 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return moved
