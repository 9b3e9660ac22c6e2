-- The next entries of a sorted set of board ids after a cursor, in one direction: a tenant's
-- tournament index (id -> when its window ends, ms) read 'asc', those ending after ARGV[2] (the
-- open and upcoming ones, the soonest to end first), or 'desc', those ended by ARGV[2] (the
-- latest first); a player's joined tournaments (id -> when it joined) read 'desc'. Ties at one
-- score are in the set's own order (byte order of the ids: ascending with 'asc', descending
-- with 'desc'), compared here byte by byte too (Lua's string order follows the server's
-- locale), so a cursor of (score, id) resumes exactly after its entry.
-- KEYS: 1 the sorted set
-- ARGV: 1 'asc' or 'desc', 2 now ms, 3 the cursor's score ('' from the first), 4 its id,
--       5 entries at most
-- Returns {id, score, id, score, ...}.
local function before(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local asc = ARGV[1] == 'asc'
local want = tonumber(ARGV[5])
local cursor = ARGV[3] ~= ''
local cursor_score = tonumber(ARGV[3])
local out = {}
local offset = 0
local batch = want + 16
-- A tie larger than this many batches at the cursor's score is read no further by one call
-- (the caller's next page goes on from the last entry it got).
local rounds = 0
while #out < 2 * want and rounds < 32 do
  rounds = rounds + 1
  local rows
  if asc then
    local min = '(' .. ARGV[2]
    if cursor then min = ARGV[3] end
    rows = redis.call('ZRANGE', KEYS[1], min, '+inf', 'BYSCORE', 'WITHSCORES', 'LIMIT', offset, batch)
  else
    local max = ARGV[2]
    if cursor then max = ARGV[3] end
    rows = redis.call('ZRANGE', KEYS[1], max, '-inf', 'BYSCORE', 'REV', 'WITHSCORES', 'LIMIT', offset, batch)
  end
  if #rows == 0 then break end
  for i = 1, #rows, 2 do
    local id, score = rows[i], rows[i + 1]
    local after = true
    if cursor and tonumber(score) == cursor_score then
      if asc then after = before(ARGV[4], id) else after = before(id, ARGV[4]) end
    end
    if after and #out < 2 * want then
      out[#out + 1] = id
      out[#out + 1] = score
    end
  end
  offset = offset + batch
end
return out
