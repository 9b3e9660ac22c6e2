-- Takes a snapshot of a board's projection when one is due, keeps the newest ones, and once that
-- many exist trims the log behind the oldest kept (and behind what the webhook fan-out has not
-- acknowledged). A snapshot copies every period's record hash, member hash and
-- sorted set (TTLs included) and the periods set under `snap:<id>:`, where id is the last event
-- it covers.
-- KEYS: 1 events, 2 periods, 3 snapshot index (sorted set: ms → id), 4 snapshot meta (hash: id →
--       entries ever added to the log when it was taken)
-- ARGV: 1 the board's key prefix, 2 events between snapshots, 3 snapshots kept, 4 '1' to take one
--       even if not due
-- Returns {0} when nothing was due, else {1, snapshot id, log entries trimmed}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local prefix = ARGV[1]
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local added = 0
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then added = tonumber(info[i + 1]) end
end
local newest = redis.call('ZREVRANGE', KEYS[3], 0, 0)[1]
if ARGV[4] ~= '1' then
  local at = newest and tonumber(redis.call('HGET', KEYS[4], newest) or '0') or 0
  if added - at < tonumber(ARGV[2]) then return {0} end
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if not last or last[1] == newest then return {0} end
local id = last[1]
local snap = prefix .. 'snap:' .. id .. ':'
for _, p in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  for _, kind in ipairs({'r:', 'm:', 'z:'}) do
    if redis.call('EXISTS', prefix .. kind .. p) == 1 then
      redis.call('COPY', prefix .. kind .. p, snap .. kind .. p, 'REPLACE')
    end
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('COPY', KEYS[2], snap .. 'periods', 'REPLACE')
end
redis.call('ZADD', KEYS[3], tonumber(string.match(id, '^(%d+)')), id)
redis.call('HSET', KEYS[4], id, added)
while redis.call('ZCARD', KEYS[3]) > tonumber(ARGV[3]) do
  local old = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  local dir = prefix .. 'snap:' .. old .. ':'
  for _, p in ipairs(redis.call('SMEMBERS', dir .. 'periods')) do
    redis.call('UNLINK', dir .. 'r:' .. p, dir .. 'm:' .. p, dir .. 'z:' .. p)
  end
  redis.call('UNLINK', dir .. 'periods')
  redis.call('ZREM', KEYS[3], old)
  redis.call('HDEL', KEYS[4], old)
end
-- Until `kept` snapshots exist the log stays whole, so time travel always reaches back at least
-- `kept - 1` snapshot intervals.
if redis.call('ZCARD', KEYS[3]) < tonumber(ARGV[3]) then return {1, id, 0} end
local oldest = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
-- Never trim what the webhook fan-out (consumer group `webhooks`) has not acknowledged: the log
-- is its outbox.
local function older(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if tonumber(am) ~= tonumber(bm) then return tonumber(am) < tonumber(bm) end
  return tonumber(as) < tonumber(bs)
end
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if ok then
  for _, g in ipairs(groups) do
    local info = {}
    for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
    if info['name'] == 'webhooks' then
      local keep = info['last-delivered-id']
      if tonumber(info['pending']) > 0 then
        keep = redis.call('XPENDING', KEYS[1], 'webhooks')[2]
      end
      if keep and older(keep, oldest) then oldest = keep end
    end
  end
end
return {1, id, redis.call('XTRIM', KEYS[1], 'MINID', oldest)}
