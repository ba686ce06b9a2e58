--[[
  Moves an approval out of `pending` atomically, so two clicks (or two replicas) decide once, and
  marks it unsettled until its consequences are recorded (see ApprovalDecisions and the sweeper).

  KEYS[1] the approval hash
  KEYS[2] pending approvals (sorted set)
  KEYS[3] unsettled approvals (sorted set)

  ARGV[1] the new status
  ARGV[2] by
  ARGV[3] comment
  ARGV[4] now (ISO)
  ARGV[5] now (ms)

  Returns 'ok', 'expired' (it had expired: now marked so), or why it refused ('not_found', 'already_<status>').
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'not_found' end
if status ~= 'pending' then return 'already_' .. status end
local id = redis.call('HGET', KEYS[1], 'id')
local expires = tonumber(redis.call('HGET', KEYS[1], 'expiresMs'))
local reply = 'ok'
if expires and tonumber(ARGV[5]) >= expires then
  redis.call('HSET', KEYS[1], 'status', 'expired', 'decidedAt', ARGV[4])
  reply = 'expired'
else
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decidedBy', ARGV[2], 'comment', ARGV[3], 'decidedAt', ARGV[4])
end
redis.call('ZREM', KEYS[2], id)
redis.call('ZADD', KEYS[3], ARGV[5], id)
return reply
