--[[
  Makes a learned rule unless one is in force: the rule expires by itself after its cooldown. The
  rule is also kept as not yet audited, until its audit entry is appended (so a crash in between
  leaves it to the sweep, never unaudited).

  KEYS[1] the rule (a string, JSON)
  KEYS[2] the index of rules (a sorted set by expiry)
  KEYS[3] rules made but not yet audited (a hash id → rule)

  ARGV[1] the rule (JSON)
  ARGV[2] its cooldown (ms)
  ARGV[3] its id
  ARGV[4] its expiry (ms)

  Returns 1 when made, 0 when a rule was already in force.
]]
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then return 0 end
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
return 1
