-- Deletes a board: its config (it is gone from here on, and the write scripts, which check it,
-- store nothing more under its prefix) and the keys it names: the log, the inbox, the periods set
-- and the version. UNLINK frees large values off Redis's main thread. It sets the board's
-- tombstone to this delete's sweep token: the rest under the prefix (each period's ranking,
-- records and members, idempotency markers, snapshots, integrity state) is deleted after it in
-- short steps outside this script (Repo::sweep_board, sweep_step.lua), the tombstone last. Every
-- key it touches is declared, so it runs on the board's slot.
-- KEYS: 1 config, 2 periods, 3 events, 4 inbox, 5 version, 6 tombstone. ARGV: 1 sweep token.
-- Returns 1 if the board existed; 2 when it did not but an earlier delete's sweep is unfinished
-- (its tombstone is there, and is taken over: the caller finishes that sweep); 0 otherwise.
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('EXISTS', KEYS[6]) == 1 then
    redis.call('SET', KEYS[6], ARGV[1])
    return 2
  end
  return 0
end
redis.call('SET', KEYS[6], ARGV[1])
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return 1
