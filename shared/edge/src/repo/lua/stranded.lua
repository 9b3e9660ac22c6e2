-- Entries of a stream delivered to its group longer than `idle_ms` ago and not acknowledged (a
-- board inbox's drain, or its log's webhook fan-out, that died), counted up to `max`.
-- Answers {'stranded', the count}, {'no_stream'} or {'no_group'}.
if redis.call('EXISTS', K.stream) == 0 then return {'no_stream'} end
local p = redis.pcall('XPENDING', K.stream, A.group, 'IDLE', A.idle_ms, '-', '+', A.max)
if type(p) == 'table' and p.err then
  if string.find(p.err, 'NOGROUP') then return {'no_group'} end
  return redis.error_reply(p.err)
end
return {'stranded', #p}
