local cfg = redis.call('GET', KEYS[1])
if not cfg then return {''} end
local kinds = {all_time = 2, daily = 3, weekly = 4, monthly = 5}
local key = KEYS[kinds[cjson.decode(cfg).period] or 2]
return {cfg, redis.call('HGET', key, ARGV[1]) or ''}
