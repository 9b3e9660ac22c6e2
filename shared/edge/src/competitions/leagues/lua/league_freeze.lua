-- Begins a period's close (a league's, `crate::leagues`, or a periodic board's awards,
-- `crate::rewards`): marks it closing, once. From then on no
-- write lands in the period (submit_cas.lua checks the mark), so the standings the close reads
-- next are final, and every closer reads the same.
-- KEYS: 1 the board's config, 2 its closes (hash)
-- ARGV: 1 the mark's field (`closing:<period>`), 2 now (Unix ms: what the mark holds)
-- Returns {1} marked now, {2} marked before, or {} when the board is gone (nothing is written).
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return {2} end
return {1}
