--[[
  Clears a learned rule and the evidence that made it, so the next verdicts start afresh.

  KEYS[1] the rule (a string, JSON)
  KEYS[2] its evidence
  KEYS[3] the index of rules

  ARGV[1] its id

  Returns the rule as it was, or false when none was in force.
]]
local rule = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return rule
