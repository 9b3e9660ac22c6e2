-- Moves dead letters back into the inbox (each only if it is still a dead letter: two concurrent
-- redrives do not duplicate it), then rings the doorbell.
-- Letters (from ARGV[A_MORE]): per letter, its dead letter id, its field count, then its fields
-- and values.
-- Answers {'moved', the number of letters moved}.
local moved = 0
local a = A_MORE
while a <= #ARGV do
  local id, n = ARGV[a], tonumber(ARGV[a + 1])
  local fields = {}
  for i = 1, n do fields[i] = ARGV[a + 1 + i] end
  a = a + 2 + n
  if #redis.call('XRANGE', K.dead, id, id) > 0 then
    redis.call('XADD', K.inbox, '*', unpack(fields))
    redis.call('XDEL', K.dead, id)
    moved = moved + 1
  end
end
if moved > 0 then redis.call('PUBLISH', A.doorbell, A.payload) end
return {'moved', moved}
