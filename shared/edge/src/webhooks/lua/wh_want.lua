-- Marks whether a webhook subscription wants a board's events. When none does any more, the
-- fan-out's consumer group on the log is dropped too (the log may then be trimmed freely).
-- KEYS: 1 webhooks wanted (flag), 2 events
-- ARGV: 1 '1' wanted, '0' not
if ARGV[1] == '1' then
  redis.call('SET', KEYS[1], '1')
elseif redis.call('DEL', KEYS[1]) == 1 then
  pcall(redis.call, 'XGROUP', 'DESTROY', KEYS[2], 'webhooks')
end
return 1
