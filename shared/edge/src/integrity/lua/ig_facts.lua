-- What a board's integrity rules need to judge one submission, in one round trip; the submission
-- joins the burst set of its score here.
-- Answers {'facts', state JSON or '', players, other players with this score within the window,
--          n, n pairs (player, Unix ms) of those others when this submission completes a burst,
--          the sample: rank values evenly spaced over the standings, comma-separated ('' = none)}.
-- The sample is reused for up to A.sample_kept_ms while the board's size stays within a tenth of
-- what it was (taking it is a ZRANGE per point).
local state = redis.call('HGET', K.states, A.player) or ''
local players = redis.call('ZCARD', K.ranks)
-- The burst set counts the submission as it is judged (whatever becomes of it), so concurrent
-- submissions of one score each see a different count and exactly one completes the burst.
local others = 0
local out = {'facts', state, players, 0, 0}
local window = tonumber(A.burst_window_ms)
if window > 0 then
  local now = tonumber(A.now_ms)
  redis.call('ZADD', K.burst, now, A.player)
  redis.call('ZREMRANGEBYSCORE', K.burst, '-inf', now - window)
  redis.call('PEXPIRE', K.burst, window)
  others = redis.call('ZCARD', K.burst) - 1
  out[4] = others
  if others + 1 == tonumber(A.burst_players) then
    local r = redis.call('ZRANGE', K.burst, 0, -1, 'WITHSCORES')
    local n = 0
    for i = 1, #r, 2 do
      if r[i] ~= A.player then
        out[#out + 1] = r[i]
        out[#out + 1] = r[i + 1]
        n = n + 1
      end
    end
    out[5] = n
  end
end
local points = tonumber(A.sample_points)
local sample = ''
if points > 1 and players > 0 then
  -- Kept as '<players>;<values>': taken again when it is older than A.sample_kept_ms or the board's
  -- size moved by more than a tenth since.
  local kept = redis.call('GET', K.sample)
  if kept then
    local n, values = string.match(kept, '^(%d+);(.*)$')
    n = tonumber(n)
    if n and players <= n * 1.1 and players >= n * 0.9 then sample = values end
  end
  if sample == '' then
    local values = {}
    for i = 0, points - 1 do
      local idx = math.floor(i * (players - 1) / (points - 1))
      local r = redis.call('ZRANGE', K.ranks, idx, idx, 'WITHSCORES')
      if r[2] then values[#values + 1] = r[2] end
    end
    sample = table.concat(values, ',')
    redis.call('SET', K.sample, players .. ';' .. sample, 'PX', A.sample_kept_ms)
  end
end
out[#out + 1] = sample
return out
