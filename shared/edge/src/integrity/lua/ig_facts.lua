-- What a board's integrity rules need to judge one submission, in one round trip; the submission
-- joins the burst set of its score here.
-- KEYS: 1 integrity state hash (the period's), 2 sorted set (the period's), 3 the submitted
--       score's burst set (player -> Unix ms), 4 the period's sample (a string, kept briefly)
-- ARGV: 1 player, 2 now (Unix ms), 3 burst window ms ('0': no burst rule),
--       4 sample points ('0': no outlier rule), 5 players that make a burst, 6 how long a
--       sample is kept (ms)
-- Returns {state JSON or '', players, other players with this score within the window, n,
--          n pairs (player, Unix ms) of those others when this submission completes a burst,
--          the sample: rank values evenly spaced over the standings, comma-separated ('' = none)}.
-- The sample is reused for up to ARGV[6] ms while the board's size stays within a tenth of what
-- it was (taking it is a ZRANGE per point).
local state = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local players = redis.call('ZCARD', KEYS[2])
-- The burst set counts the submission as it is judged (whatever becomes of it), so concurrent
-- submissions of one score each see a different count and exactly one completes the burst.
local others = 0
local out = {state, players, 0, 0}
local window = tonumber(ARGV[3])
if window > 0 then
  local now = tonumber(ARGV[2])
  redis.call('ZADD', KEYS[3], now, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
  redis.call('PEXPIRE', KEYS[3], window)
  others = redis.call('ZCARD', KEYS[3]) - 1
  out[3] = others
  if others + 1 == tonumber(ARGV[5]) then
    local r = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
    local n = 0
    for i = 1, #r, 2 do
      if r[i] ~= ARGV[1] then
        out[#out + 1] = r[i]
        out[#out + 1] = r[i + 1]
        n = n + 1
      end
    end
    out[4] = n
  end
end
local points = tonumber(ARGV[4])
local sample = ''
if points > 1 and players > 0 then
  -- Kept as '<players>;<values>': taken again when it is older than ARGV[6] ms or the board's
  -- size moved by more than a tenth since.
  local kept = redis.call('GET', KEYS[4])
  if kept then
    local n, values = string.match(kept, '^(%d+);(.*)$')
    n = tonumber(n)
    if n and players <= n * 1.1 and players >= n * 0.9 then sample = values end
  end
  if sample == '' then
    local values = {}
    for i = 0, points - 1 do
      local idx = math.floor(i * (players - 1) / (points - 1))
      local r = redis.call('ZRANGE', KEYS[2], idx, idx, 'WITHSCORES')
      if r[2] then values[#values + 1] = r[2] end
    end
    sample = table.concat(values, ',')
    redis.call('SET', KEYS[4], players .. ';' .. sample, 'PX', ARGV[6])
  end
end
out[#out + 1] = sample
return out
