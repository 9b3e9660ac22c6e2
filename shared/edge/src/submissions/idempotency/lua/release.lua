-- Releases an Idempotency-Key reservation if it is still ours (nothing was applied).
-- KEYS: 1 the idempotency key. ARGV: 1 our reservation. Returns 1 if released.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
