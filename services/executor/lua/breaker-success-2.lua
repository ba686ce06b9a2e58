--[[
  A success closes a half-open breaker and forgets old failures.

  KEYS[1] the breaker hash
  KEYS[2] its failures (sorted set)

  Returns 1 if it closed the breaker, else 0.
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'half_open' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
