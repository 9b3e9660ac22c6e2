-- The next entries of a sorted set of board ids after a cursor, in one direction: a tenant's
-- tournament index (id -> when its window ends, ms) read 'asc', those ending after A.now_ms
-- (the open and upcoming ones, the soonest to end first), or 'desc', those ended by A.now_ms
-- (the latest first); a player's joined tournaments (id -> when it joined) read 'desc'. Ties at
-- one score are in the set's own order (byte order of the ids: ascending with 'asc',
-- descending with 'desc'), compared here byte by byte too (Lua's string order follows the
-- server's locale), so a cursor of (score, id) resumes exactly after its entry.
-- Answers {'page', id, score, id, score, ...}.
local function before(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local asc = A.direction == 'asc'
local want = tonumber(A.count)
local cursor = A.cursor_score ~= ''
local cursor_score = tonumber(A.cursor_score)
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
    local min = '(' .. A.now_ms
    if cursor then min = A.cursor_score end
    rows = redis.call('ZRANGE', K.entries, min, '+inf', 'BYSCORE', 'WITHSCORES', 'LIMIT', offset, batch)
  else
    local max = A.now_ms
    if cursor then max = A.cursor_score end
    rows = redis.call('ZRANGE', K.entries, max, '-inf', 'BYSCORE', 'REV', 'WITHSCORES', 'LIMIT', offset, batch)
  end
  if #rows == 0 then break end
  for i = 1, #rows, 2 do
    local id, score = rows[i], rows[i + 1]
    local after = true
    if cursor and tonumber(score) == cursor_score then
      if asc then after = before(A.cursor_id, id) else after = before(id, A.cursor_id) end
    end
    if after and #out < 2 * want then
      out[#out + 1] = id
      out[#out + 1] = score
    end
  end
  offset = offset + batch
end
table.insert(out, 1, 'page')
return out
