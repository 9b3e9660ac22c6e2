local out = {redis.call('ZCARD', KEYS[1])}
for i = 1, #ARGV do
  local member = redis.call('HGET', KEYS[3], ARGV[i])
  local score = member and redis.call('ZSCORE', KEYS[1], member)
  if score then
    table.insert(out, score)
    table.insert(out, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. score))
    table.insert(out, redis.call('HGET', KEYS[2], ARGV[i]) or '')
  else
    table.insert(out, '')
    table.insert(out, 0)
    table.insert(out, '')
  end
end
return out
