-- The prelude of a script with named keys and arguments (`crate::repo::script!`): `named` checks
-- that Redis was given as many `values` as the script declares and answers the table the names
-- are assigned into (in the declared order, from `unpack`); a name that was not declared is an
-- error of the script, never a silent nil.
local function named(what, values, count)
  if #values ~= count then
    error(#values .. ' ' .. what .. 's given, ' .. count .. ' declared')
  end
  return setmetatable({}, {__index = function(_, n)
    error('no ' .. what .. ' is named ' .. tostring(n))
  end})
end
-- What the assignments from `unpack` end with (the names are written `K.a, K.b, _ = …`).
local _
