-- A tournament's window changed (ended early or extended: the board's config rewritten with the
-- window the core decided), only if the config is still the one the decision was made on and
-- the tournament's end was not announced (an ended tournament's standings are final). Its keys
-- (`K`) and arguments (`A`) are named where the script is declared (`window_write` in ../scripts.rs).
-- Answers {'changed'}, {'stale'} (the config changed since it was read: decide again),
-- {'ended'} (the end was announced), or {'board_deleted'}.
local cfg = redis.call('GET', K.config)
if not cfg then return {'board_deleted'} end
if redis.call('HEXISTS', K.announced, 'ended') == 1 then return {'ended'} end
if cfg ~= A.config_read then return {'stale'} end
redis.call('SET', K.config, A.config)
redis.call('HSET', K.announced, 'end', A.end_ms)
if A.early == '1' then redis.call('HSET', K.announced, 'early', '1') end
return {'changed'}
