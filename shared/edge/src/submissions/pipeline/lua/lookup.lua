-- The state a drain decides on, in one round trip.
-- The keys (from KEYS[K_MORE]): any keys of the board; the arguments (from ARGV[A_MORE]), one
-- per key: the field of that key to read (HGET), or '' for whether the key exists.
-- Answers {'values', then one value per key ('' for a missing field; 1/0 for existence)}.
local out = {'values'}
for i = K_MORE, #KEYS do
  local key, field = KEYS[i], ARGV[A_MORE + i - K_MORE]
  if field == '' then
    table.insert(out, redis.call('EXISTS', key))
  else
    table.insert(out, redis.call('HGET', key, field) or '')
  end
end
return out
