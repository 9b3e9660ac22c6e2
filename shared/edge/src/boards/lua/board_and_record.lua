-- The board config and a player's record in the board's current period; with an Idempotency-Key
-- (A.keyed '1'), also reserves it (or reports what it holds).
-- Answers {'no_board'}; without a key {'read', config, record or ''}; with one,
-- {'reserved', config, record or ''} or {'held', config, record or '', the value the key holds}.
local cfg = redis.call('GET', K.config)
if not cfg then return {'no_board'} end
local kinds = {all_time = K.all_time, daily = K.daily, weekly = K.weekly, monthly = K.monthly}
local key = kinds[cjson.decode(cfg).period] or K.all_time
local rec = redis.call('HGET', key, A.player) or ''
if A.keyed ~= '1' then return {'read', cfg, rec} end
if redis.call('SET', K.idempotency, A.reservation, 'NX', 'PX', A.lease_ms) then
  return {'reserved', cfg, rec}
end
return {'held', cfg, rec, redis.call('GET', K.idempotency) or ''}
