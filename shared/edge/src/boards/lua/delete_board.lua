-- Deletes a board: its config (it is gone from here on, and the write scripts, which check it,
-- store nothing more under its prefix) and every key it names: each retained period's ranking,
-- records and members, the log, the inbox, the periods set and the version. UNLINK frees large
-- values off Redis's main thread. It sets the board's tombstone to this delete's sweep token:
-- what the board does not name (idempotency markers, snapshots, integrity state) is deleted
-- after it in short steps outside this script (Repo::sweep_board, sweep_step.lua), the tombstone
-- last. Every key it touches is declared, so it runs on the board's slot; the caller read the
-- periods set just before, and passes each period's three keys.
-- The keys after the named ones (from KEYS[K_MORE]): per period its sorted set, records and
-- members, then (a board with cohorts) each period's cohort keys, then (a league) its closes and
-- tiers. The arguments after the token (from ARGV[A_MORE]): the period ids, in KEYS' order.
-- Answers {'deleted'} if the board existed; {'unfinished'} when it did not but an earlier
-- delete's sweep is unfinished (its tombstone is there, and is taken over: the caller finishes
-- that sweep); {'periods_moved'} when the periods set is no longer what the caller read (nothing
-- is done: read it again); {'absent'} otherwise.
if redis.call('EXISTS', K.config) == 0 then
  if redis.call('EXISTS', K.tombstone) == 1 then
    redis.call('SET', K.tombstone, A.token)
    return {'unfinished'}
  end
  return {'absent'}
end
local periods = #ARGV - A_MORE + 1
if redis.call('SCARD', K.periods) ~= periods then return {'periods_moved'} end
for i = A_MORE, #ARGV do
  if redis.call('SISMEMBER', K.periods, ARGV[i]) == 0 then return {'periods_moved'} end
end
redis.call('SET', K.tombstone, A.token)
redis.call('UNLINK', K.config, K.periods, K.events, K.inbox, K.version)
-- The periods' keys in bounded batches: unpack's arguments live on Lua's stack.
local i = K_MORE
while i <= #KEYS do
  local j = math.min(i + 499, #KEYS)
  redis.call('UNLINK', unpack(KEYS, i, j))
  i = j + 1
end
return {'deleted'}
