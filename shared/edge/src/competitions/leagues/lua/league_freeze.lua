-- Begins a period's close (a league's, `crate::leagues`, or a periodic board's awards,
-- `crate::rewards`): marks it closing, once. From then on no
-- write lands in the period (submit_cas.lua checks the mark), so the standings the close reads
-- next are final, and every closer reads the same.
-- Answers {'marked'} (marked now), {'before'} (marked before) or {'board_gone'} (nothing is
-- written).
if redis.call('EXISTS', K.config) == 0 then return {'board_gone'} end
if redis.call('HSETNX', K.closes, A.closing_mark, A.now_ms) == 0 then return {'before'} end
return {'marked'}
