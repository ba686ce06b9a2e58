--[[
  Moves an incident to a status (IncidentStore.setStatus), with its notice recorded in the caller's
  outbox in the same script if the status changed, and the human taking ownership if one does.

  KEYS[1] the incident's state hash (routes the script to its cluster slot)
  KEYS[2] the caller's outbox hash (KEYS[1] again when there is no notice)

  ARGV[1]  the key layout (JSON, shared/keys.ts scriptKeyLayout)
  ARGV[2]  incident id
  ARGV[3]  status
  ARGV[4]  timeline entry (JSON)
  ARGV[5]  now (ISO)
  ARGV[6]  statuses it may move from, comma-separated ('' = any)
  ARGV[7]  summary ('' = keep)
  ARGV[8]  the notice's event id ('' = none)
  ARGV[9]  the notice's outbox entry
  ARGV[10] the human taking ownership ('' = none): recorded, with its timeline entry and notice, even
           when the status stays the same (an escalated incident someone acknowledges)

  Returns the previous status, or false (no such incident, or the guard refused).
]]
--- @include "set-status"

local K = cjson.decode(ARGV[1])
local previous = set_status(K, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
if not previous then return false end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'summary', ARGV[7]) end
local owner = ARGV[10] ~= ''
if owner then
  redis.call('HSET', KEYS[1], 'acknowledgedBy', ARGV[10], 'acknowledgedAt', ARGV[5])
  if previous == ARGV[3] then
    redis.call('RPUSH', key(K.incidentTimeline, ARGV[2]), ARGV[4])
    redis.call('HSET', KEYS[1], 'updatedAt', ARGV[5])
  end
end
if (owner or previous ~= ARGV[3]) and ARGV[8] ~= '' then redis.call('HSET', KEYS[2], ARGV[8], ARGV[9]) end
return previous
