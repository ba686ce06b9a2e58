--[[
  Decides, before any comparison, whether a presented admin token may be checked, and counts it in the
  same script: concurrent guesses cannot all read a count below the limit. An attempt is counted as a
  failure up front and given back if the token was right.

  KEYS[1] the address's failures
  KEYS[2] this guess's failures
  KEYS[3] the address's slowed-down check slot

  ARGV[1] per-address limit
  ARGV[2] per-guess limit
  ARGV[3] window (s)
  ARGV[4] slot (ms)

  Returns {'check' | 'slowed-check' | 'guess' | 'wait', ms until it may try again}.
]]
local guess = tonumber(redis.call('GET', KEYS[2]) or '0')
if guess >= tonumber(ARGV[2]) then return { 'guess', redis.call('PTTL', KEYS[2]) } end
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures >= tonumber(ARGV[1]) then
  if redis.call('SET', KEYS[3], '1', 'PX', ARGV[4], 'NX') then return { 'slowed-check', 0 } end
  return { 'wait', redis.call('PTTL', KEYS[3]) }
end
redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return { 'check', 0 }
