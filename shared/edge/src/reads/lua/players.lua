local out = {'players', redis.call('ZCARD', K.ranks)}
for i = A_MORE, #ARGV do
  local member = redis.call('HGET', K.members, ARGV[i])
  local score = member and redis.call('ZSCORE', K.ranks, member)
  if score then
    table.insert(out, score)
    table.insert(out, redis.call('ZCOUNT', K.ranks, '-inf', '(' .. score))
    table.insert(out, redis.call('HGET', K.records, ARGV[i]) or '')
  else
    table.insert(out, '')
    table.insert(out, 0)
    table.insert(out, '')
  end
end
return out
