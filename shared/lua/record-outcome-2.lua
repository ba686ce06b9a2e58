--[[
  Keeps one verdict of a fix, bounded: per (alertname, resource, target, tool) at most `maxCount`
  entries, none older than `maxAge`; the index lists the keys written within `maxAge`.

  KEYS[1] the key's verdicts (a sorted set by time)
  KEYS[2] the index of keys (a sorted set by last write)

  ARGV[1] now (ms)
  ARGV[2] the entry (JSON)
  ARGV[3] max age (ms)
  ARGV[4] max count
  ARGV[5] the key's id in the index

  Returns the number of verdicts kept for the key.
]]
local now = tonumber(ARGV[1])
local maxAge = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - maxAge)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call('PEXPIRE', KEYS[1], maxAge)
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - maxAge)
return redis.call('ZCARD', KEYS[1])
