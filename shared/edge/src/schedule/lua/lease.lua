-- Leases up to A.max items of K.register due by A.now_ms, of the kinds A.kinds names (words; ''
-- for every kind): each one's due time becomes now plus its kind's lease (A.leases: words
-- '<kind>=<ms>'; A.lease_ms for a kind not named there, a later release's), so no other worker
-- takes it meanwhile; the caller serves each and says what it did (done.lua), and a worker that
-- dies leaves it due again when the lease ends. Items of other kinds are left due (the first
-- 4 × A.max items due are looked at). Last, arms the alarm for the register's earliest item (at
-- once when more are due; with a kind filter, for what is due already, A.defer_ms from now, so
-- that a burst of filtered leases rings the alarm once for what they leave, not once each).
-- Answers {'leased', item, stamp, hold, ...}: each item with its stamp (its last note's number,
-- '0' for none) and the due time the lease gave it, which done.lua compares.
local leases = {}
for kind, ms in string.gmatch(A.leases, '([%w_]+)=(%d+)') do
  leases[kind] = tonumber(ms)
end
local kinds = nil
if A.kinds ~= '' then
  kinds = {}
  for kind in string.gmatch(A.kinds, '[%w_]+') do
    kinds[kind] = true
  end
end
local now = tonumber(A.now_ms)
local max = tonumber(A.max)
local out = {'leased'}
local taken = 0
local due = redis.call('ZRANGEBYSCORE', K.register, '-inf', now, 'LIMIT', 0, 4 * max)
for _, item in ipairs(due) do
  local kind = string.match(item, '^([^:]*):') or ''
  if taken < max and (not kinds or kinds[kind]) then
    local hold = now + (leases[kind] or tonumber(A.lease_ms))
    redis.call('ZADD', K.register, hold, item)
    table.insert(out, item)
    table.insert(out, redis.call('HGET', K.stamps, item) or '0')
    table.insert(out, string.format('%d', hold))
    taken = taken + 1
  end
end
local first = redis.call('ZRANGE', K.register, 0, 0, 'WITHSCORES')
if first[2] then
  local at = tonumber(first[2])
  if kinds and at <= now then at = now + tonumber(A.defer_ms) end
  arm(K.alarm, now, at, first[1])
end
return out
