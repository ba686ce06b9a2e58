--[[
  Spends an approved approval on exactly the action it was granted for, once.

  KEYS[1] the approval hash

  ARGV[1] tool
  ARGV[2] the action's arguments hash
  ARGV[3] now (ms)

  Returns 'ok', or why it refused ('not_found', 'already_used', 'not_approved:<status>',
  'action_mismatch', 'expired').
]]
local a = redis.call('HMGET', KEYS[1], 'status', 'tool', 'argsHash', 'expiresMs')
if not a[1] then return 'not_found' end
if a[1] == 'used' then return 'already_used' end
if a[1] ~= 'approved' then return 'not_approved:' .. a[1] end
if a[2] ~= ARGV[1] or a[3] ~= ARGV[2] then return 'action_mismatch' end
if tonumber(ARGV[3]) >= tonumber(a[4]) then return 'expired' end
redis.call('HSET', KEYS[1], 'status', 'used')
return 'ok'
