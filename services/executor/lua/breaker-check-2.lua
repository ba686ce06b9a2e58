--[[
  Whether an action may run past the circuit breaker, held in Redis so every executor replica shares it.
  Closed: yes. Open before its cooldown: no. After the cooldown the breaker half-opens and lets one
  probe through at a time (a stuck probe is replaced after another cooldown).

  KEYS[1] the breaker hash
  KEYS[2] its failures (sorted set)

  ARGV[1] now (ms)
  ARGV[2] the action id
  ARGV[3] cooldown (ms)

  Returns {'closed', ''}, {'probe', ''}, {'open', reopenAt ms} or {'half_open_busy', the probe's action id}.
]]
local now = tonumber(ARGV[1])
local b = redis.call('HMGET', KEYS[1], 'state', 'reopenAt', 'probe', 'probeAt')
local state = b[1] or 'closed'
if state == 'closed' then return {'closed', ''} end
if state == 'open' then
  if now < tonumber(b[2]) then return {'open', b[2]} end
  redis.call('HSET', KEYS[1], 'state', 'half_open')
  b[3] = false
end
if b[3] and b[3] ~= ARGV[2] and now - tonumber(b[4]) < tonumber(ARGV[3]) then return {'half_open_busy', b[3]} end
redis.call('HSET', KEYS[1], 'probe', ARGV[2], 'probeAt', ARGV[1])
return {'probe', ''}
