local function named(what, values, count)
  if #values ~= count then
    error(what .. 's: ' .. #values .. ' given, ' .. count .. ' declared')
  end
  return setmetatable({}, {__index = function(_, n)
    error('no ' .. what .. ' is named ' .. tostring(n))
  end})
end
local _
