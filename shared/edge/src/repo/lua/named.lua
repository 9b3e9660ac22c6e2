local function named(what, values, count, more)
  if #values < count or (#values > count and not more) then
    error(what .. 's: ' .. #values .. ' given, ' .. count .. (more and ' or more' or '') .. ' declared')
  end
  return setmetatable({}, {__index = function(_, n)
    error('no ' .. what .. ' is named ' .. tostring(n))
  end}), count + 1
end
local _
