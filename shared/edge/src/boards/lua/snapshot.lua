-- Takes a snapshot of a board's projection when one is due, keeps the newest ones, and once that
-- many exist trims the log behind the oldest kept (and behind what the webhook fan-out has not
-- acknowledged). A snapshot copies every period's record hash, member hash and
-- sorted set (TTLs included) and the periods set under `snap:<id>:`, where id is the last event
-- it covers.
-- Answers {'taken', snapshot id, log entries trimmed}, or without one {'no_log'} (the board has
-- no log), {'not_due'} (too few events since the newest) or {'covered'} (no event the newest does
-- not cover).
if redis.call('EXISTS', K.events) == 0 then return {'no_log'} end
local prefix = A.prefix
local info = redis.call('XINFO', 'STREAM', K.events)
local added = 0
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then added = tonumber(info[i + 1]) end
end
local newest = redis.call('ZREVRANGE', K.index, 0, 0)[1]
if A.force ~= '1' then
  local at = newest and tonumber(redis.call('HGET', K.meta, newest) or '0') or 0
  if added - at < tonumber(A.every) then return {'not_due'} end
end
local last = redis.call('XREVRANGE', K.events, '+', '-', 'COUNT', 1)[1]
if not last or last[1] == newest then return {'covered'} end
local id = last[1]
local snap = prefix .. 'snap:' .. id .. ':'
for _, p in ipairs(redis.call('SMEMBERS', K.periods)) do
  for _, kind in ipairs({'r:', 'm:', 'z:'}) do
    if redis.call('EXISTS', prefix .. kind .. p) == 1 then
      redis.call('COPY', prefix .. kind .. p, snap .. kind .. p, 'REPLACE')
    end
  end
end
if redis.call('EXISTS', K.periods) == 1 then
  redis.call('COPY', K.periods, snap .. 'periods', 'REPLACE')
end
redis.call('ZADD', K.index, tonumber(string.match(id, '^(%d+)')), id)
redis.call('HSET', K.meta, id, added)
while redis.call('ZCARD', K.index) > tonumber(A.keep) do
  local old = redis.call('ZRANGE', K.index, 0, 0)[1]
  local dir = prefix .. 'snap:' .. old .. ':'
  for _, p in ipairs(redis.call('SMEMBERS', dir .. 'periods')) do
    redis.call('UNLINK', dir .. 'r:' .. p, dir .. 'm:' .. p, dir .. 'z:' .. p)
  end
  redis.call('UNLINK', dir .. 'periods')
  redis.call('ZREM', K.index, old)
  redis.call('HDEL', K.meta, old)
end
-- Until `kept` snapshots exist the log stays whole, so time travel always reaches back at least
-- `kept - 1` snapshot intervals.
if redis.call('ZCARD', K.index) < tonumber(A.keep) then return {'taken', id, 0} end
local oldest = redis.call('ZRANGE', K.index, 0, 0)[1]
-- Never trim what the webhook fan-out (consumer group `webhooks`) has not acknowledged: the log
-- is its outbox.
local function older(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if tonumber(am) ~= tonumber(bm) then return tonumber(am) < tonumber(bm) end
  return tonumber(as) < tonumber(bs)
end
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', K.events)
if ok then
  for _, g in ipairs(groups) do
    local info = {}
    for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
    if info['name'] == 'webhooks' then
      local keep = info['last-delivered-id']
      if tonumber(info['pending']) > 0 then
        keep = redis.call('XPENDING', K.events, 'webhooks')[2]
      end
      if keep and older(keep, oldest) then oldest = keep end
    end
  end
end
return {'taken', id, redis.call('XTRIM', K.events, 'MINID', oldest)}
