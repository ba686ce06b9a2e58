--[[
  Counts a failed or ineffective action, and opens the breaker at the threshold (or on a failed probe),
  recording its notice in the executor's outbox in the same script.

  KEYS[1] the breaker hash
  KEYS[2] its failures (sorted set)
  KEYS[3] the executor's outbox

  ARGV[1] now (ms)
  ARGV[2] member (the failure)
  ARGV[3] window (ms)
  ARGV[4] threshold
  ARGV[5] cooldown (ms)
  ARGV[6] the notice's event id ('' = none; the job's own eventId)
  ARGV[7] the notice's job JSON when the threshold opens it
  ARGV[8] the notice's job JSON when a failed probe opens it
  Either gets the count in details.failures.

  Returns {'opened', count} when this failure opened the breaker, else {state, count}.
]]
--- @include "outbox-entry"

local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window)
local count = redis.call('ZCARD', KEYS[2])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local probeFailed = state == 'half_open'
if probeFailed or (state == 'closed' and count >= tonumber(ARGV[4])) then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'state', 'open', 'openedAt', ARGV[1], 'reopenAt', now + tonumber(ARGV[5]))
  if ARGV[6] ~= '' then
    local job = cjson.decode(probeFailed and ARGV[8] or ARGV[7])
    if type(job.details) == 'table' then job.details.failures = count end
    record_notice(KEYS[3], job, now)
  end
  return {'opened', count}
end
return {state, count}
