--[[
  Checks every rolling window and, only when all have room, records the action in each: one script, so
  concurrent executors can never overshoot a limit.

  KEYS    one sorted set per window (any number)

  ARGV[1] now (ms)
  ARGV[2] member (the action)
  ARGV[1 + 2i], ARGV[2 + 2i] window i's max and length (ms)

  Returns {0, 0} when taken, or {index of the full window (1-based), its count}.
]]
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[1 + i * 2])
  local window = tonumber(ARGV[2 + i * 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= max then return {i, count} end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + i * 2]))
end
return {0, 0}
