-- The state a drain decides on, in one round trip.
-- KEYS: any keys of the board. ARGV[i]: the field of KEYS[i] to read (HGET), or '' for whether
-- KEYS[i] exists. Returns one value per key ('' for a missing field; 1/0 for existence).
local out = {}
for i, key in ipairs(KEYS) do
  if ARGV[i] == '' then
    table.insert(out, redis.call('EXISTS', key))
  else
    table.insert(out, redis.call('HGET', key, ARGV[i]) or '')
  end
end
return out
