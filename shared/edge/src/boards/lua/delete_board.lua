-- Deletes a board: its config (it is gone from here on, and the write scripts, which check it,
-- store nothing more under its prefix) and every key it names: each retained period's ranking,
-- records and members, the log, the inbox, the periods set and the version. UNLINK frees large
-- values off Redis's main thread. It sets the board's tombstone to this delete's sweep token:
-- what the board does not name (idempotency markers, snapshots, integrity state) is deleted
-- after it in short steps outside this script (Repo::sweep_board, sweep_step.lua), the tombstone
-- last. Every key it touches is declared, so it runs on the board's slot; the caller read the
-- periods set just before, and passes each period's three keys.
-- KEYS: 1 config, 2 periods, 3 events, 4 inbox, 5 version, 6 tombstone, then per period its
--       sorted set, records and members, then (a board with cohorts) each period's cohort keys,
--       then (a league) its closes and tiers. ARGV: 1 sweep token, then the period ids, in
--       KEYS' order.
-- Returns 1 if the board existed; 2 when it did not but an earlier delete's sweep is unfinished
-- (its tombstone is there, and is taken over: the caller finishes that sweep); 3 when the
-- periods set is no longer what the caller read (nothing is done: read it again); 0 otherwise.
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('EXISTS', KEYS[6]) == 1 then
    redis.call('SET', KEYS[6], ARGV[1])
    return 2
  end
  return 0
end
local periods = #ARGV - 1
if redis.call('SCARD', KEYS[2]) ~= periods then return 3 end
for i = 1, periods do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i + 1]) == 0 then return 3 end
end
redis.call('SET', KEYS[6], ARGV[1])
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
-- The periods' keys in bounded batches: unpack's arguments live on Lua's stack.
local i = 7
while i <= #KEYS do
  local j = math.min(i + 499, #KEYS)
  redis.call('UNLINK', unpack(KEYS, i, j))
  i = j + 1
end
return 1
