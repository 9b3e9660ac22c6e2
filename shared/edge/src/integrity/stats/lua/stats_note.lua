-- Board stats (`leaderboard::stats`): counts one submission in its minute bucket. Prepended to
-- the scripts that decide a submission's fate (the write, the drain's batch, a held or rejected
-- submission's note), so counting costs no round trip of its own.
-- hash: the minute's counters; hll: its players (HyperLogLog); climb: its climbers (sorted set:
-- player -> ranks gained, the best `keep` kept); fields: the counters to increment,
-- comma-separated; player: counted among the minute's players unless ''; gained: ranks the
-- player's own write gained it; ttl: seconds the bucket stays after this write.
local function stats_note(hash, hll, climb, fields, player, climber, gained, keep, ttl)
  for f in string.gmatch(fields, '[^,]+') do redis.call('HINCRBY', hash, f, 1) end
  redis.call('EXPIRE', hash, ttl)
  if player ~= '' then
    redis.call('PFADD', hll, player)
    redis.call('EXPIRE', hll, ttl)
  end
  if gained > 0 then
    redis.call('ZINCRBY', climb, gained, climber)
    redis.call('ZREMRANGEBYRANK', climb, 0, -(keep + 1))
    redis.call('EXPIRE', climb, ttl)
  end
end
