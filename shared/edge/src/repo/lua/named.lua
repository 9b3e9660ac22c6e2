-- The prelude of a script with named keys and arguments (`crate::repo::script!`): `named`
-- makes a table of `values` by `names` (the declared order), refusing a count that differs
-- and a name that was not declared (an error of the script, never a silent nil).
local function named(values, names, what)
  if #values ~= #names then
    error(#values .. ' ' .. what .. 's given, ' .. #names .. ' declared')
  end
  local t = {}
  for i, n in ipairs(names) do t[n] = values[i] end
  return setmetatable(t, {__index = function(_, n)
    error('no ' .. what .. ' is named ' .. tostring(n))
  end})
end
