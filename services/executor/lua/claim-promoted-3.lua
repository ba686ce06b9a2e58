--[[
  Claims a held change that was given a slot, to run it (once: a second claim finds nothing). One
  held for a fleet incident that closed since is dropped instead, never run after it closes: it goes
  to the dropped changes not yet recorded in the same step.

  KEYS[1] the resource's slots (sorted set: incident id -> lease end, ms)
  KEYS[2] the held changes' records (hash: action id -> JSON { resource, region, queue, job, heldAt, fleet? })
  KEYS[3] the dropped changes not yet recorded (see includes/drop-held.lua)
  ARGV[1] the action id
  ARGV[2] the fleet keys' prefix ("<prefix>:fleet:"; ingest's, read only)
  ARGV[3] now (ms)

  Returns false (no such change, or it owns no slot), {'run', its record} or {'dropped', its entry}.
]]
--- @include "drop-held"
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return false end
local record = cjson.decode(raw)
if not redis.call('ZSCORE', KEYS[1], record.job.incidentId) then return false end
redis.call('HDEL', KEYS[2], ARGV[1])
if record.fleet then
  local fleet = redis.call('HMGET', ARGV[2] .. record.fleet, 'status', 'closedBy')
  if fleet[1] ~= 'open' then
    -- HMGET answers false for a missing field (a fleet record gone): no one is named then.
    local why = {because = 'fleet_closed', by = fleet[2] and fleet[2] ~= '' and fleet[2] or nil}
    return {'dropped', drop_held(KEYS[3], ARGV[1], raw, tonumber(ARGV[3]), why)}
  end
end
return {'run', raw}
