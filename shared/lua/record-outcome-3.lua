--[[
  Keeps one verdict of a fix, bounded: per (alertname, resource, target, tool) at most `maxCount`
  entries, none older than `maxAge`; the index lists the keys written within `maxAge`.

  KEYS[1] the key's verdicts (a sorted set by time)
  KEYS[2] the index of keys (a sorted set by last write)
  KEYS[3] the pending subject of the executed fix this verdict is on (outcomes:pending:<action id>),
          consumed here: its verdict is kept once, and a retry after a failure still keeps it;
          unused when ARGV[6] is ''

  ARGV[1] now (ms)
  ARGV[2] the entry (JSON)
  ARGV[3] max age (ms)
  ARGV[4] max count
  ARGV[5] the key's id in the index
  ARGV[6] '1' to consume KEYS[3], '' for a verdict without one (refused, dry-run)

  Returns the number of verdicts kept for the key, or -1 when the subject was consumed already.
]]
if ARGV[6] == '1' and redis.call('DEL', KEYS[3]) == 0 then return -1 end
local now = tonumber(ARGV[1])
local maxAge = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - maxAge)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call('PEXPIRE', KEYS[1], maxAge)
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - maxAge)
return redis.call('ZCARD', KEYS[1])
