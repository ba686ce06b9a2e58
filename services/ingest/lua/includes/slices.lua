-- Commands over many values, in slices: unpack() has a stack limit.

-- call_in_slices(command, key, values, width): `command key v1 v2…` for values taken `width` at a time.
local function call_in_slices(command, key, values, width)
  for first = 1, #values, 1000 * width do
    redis.call(command, key, unpack(values, first, math.min(#values, first + 1000 * width - 1)))
  end
end

local function read_in_slices(command, key, names)
  local values = {}
  for first = 1, #names, 1000 do
    local last = math.min(#names, first + 999)
    local slice = key and redis.call(command, key, unpack(names, first, last))
      or redis.call(command, unpack(names, first, last))
    for k = 1, #slice do values[first + k - 1] = slice[k] end
  end
  return values
end
local function mget_in_slices(keys) return read_in_slices('MGET', nil, keys) end
local function hmget_in_slices(key, fields) return read_in_slices('HMGET', key, fields) end
