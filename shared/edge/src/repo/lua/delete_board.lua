-- Deletes a board's config (it is gone from here on) and every key the board names: each
-- retained period's ranking, records and members, the log, the inbox and the version. UNLINK
-- frees large values (a million-player ranking) off Redis's main thread, so this script's time
-- does not grow with the board's size, nor ever with anyone else's data. It sets the board's
-- tombstone: the keys it cannot name (idempotency markers, snapshots, projections, integrity
-- state) are swept after it in short batches outside any script (Repo::sweep_board), which
-- deletes the tombstone last.
-- KEYS: 1 config, 2 periods, 3 events, 4 inbox, 5 version, 6 tombstone. ARGV: 1 key prefix.
-- Returns 1 if the board existed; else 2 when an earlier delete's sweep is unfinished (its
-- tombstone is still there), 0 otherwise.
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('EXISTS', KEYS[6]) == 1 then return 2 end
  return 0
end
redis.call('SET', KEYS[6], '1')
local prefix = ARGV[1]
local doomed = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]}
for _, p in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  table.insert(doomed, prefix .. 'z:' .. p)
  table.insert(doomed, prefix .. 'r:' .. p)
  table.insert(doomed, prefix .. 'm:' .. p)
  -- UNLINK in bounded batches: unpack's arguments live on Lua's stack.
  if #doomed >= 999 then
    redis.call('UNLINK', unpack(doomed))
    doomed = {}
  end
end
if #doomed > 0 then redis.call('UNLINK', unpack(doomed)) end
return 1
