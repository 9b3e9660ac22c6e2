-- The next entries of a tenant's tournament index (board id -> when its window ends, ms) after a
-- cursor, in one direction: 'asc', those ending after now by end (the open and upcoming ones,
-- the soonest to end first), or 'desc', those ended by now by end (the latest ended first).
-- Ties at one end are ordered by id (ascending with 'asc', descending with 'desc', as ZRANGE
-- orders them), so a cursor of (end, id) resumes exactly after its entry.
-- KEYS: 1 the index
-- ARGV: 1 'asc' or 'desc', 2 now ms, 3 the cursor's end ('' from the first), 4 its id,
--       5 entries at most
-- Returns {id, end, id, end, ...}.
local asc = ARGV[1] == 'asc'
local want = tonumber(ARGV[5])
local cursor = ARGV[3] ~= ''
local cursor_end = tonumber(ARGV[3])
local out = {}
local offset = 0
local batch = want + 16
while #out < 2 * want do
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
    if cursor and tonumber(score) == cursor_end then
      if asc then after = id > ARGV[4] else after = id < ARGV[4] end
    end
    if after and #out < 2 * want then
      out[#out + 1] = id
      out[#out + 1] = score
    end
  end
  offset = offset + batch
end
return out
