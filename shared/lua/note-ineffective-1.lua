--[[
  Adds one ineffective verdict to a (alertname, tool, resource)'s evidence and forgets those older
  than the learning window.

  KEYS[1] the evidence (a sorted set by time)

  ARGV[1] now (ms)
  ARGV[2] the verdict (JSON)
  ARGV[3] the learning window (ms)

  Returns the evidence within the window, oldest first.
]]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], window)
return redis.call('ZRANGE', KEYS[1], 0, -1)
