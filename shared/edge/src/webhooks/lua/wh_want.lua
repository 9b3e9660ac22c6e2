-- Marks whether a webhook subscription wants a board's events. When none does any more, the
-- fan-out's consumer group on the log is dropped too (the log may then be trimmed freely).
-- Answers {'marked'}.
if A.wanted == '1' then
  redis.call('SET', K.hooks, '1')
elseif redis.call('DEL', K.hooks) == 1 then
  pcall(redis.call, 'XGROUP', 'DESTROY', K.events, 'webhooks')
end
return {'marked'}
