--[[
  Drops every change held for one fleet incident on a resource (a human cancelled them, or the fleet
  incident closed): held ones, and ones promoted after their region's release but not yet claimed to
  run (their slot is freed). Each goes to the dropped changes not yet recorded, with why. Idempotent:
  a second call finds none.

  KEYS[1] the resource's slots (sorted set: incident id -> lease end, ms)
  KEYS[2] the slots' regions and changes (hash: incident id -> region, "<incident id>|a" -> action id)
  KEYS[3] the held changes (sorted set: action id -> priority * 1e13 + held at, ms)
  KEYS[4] the held changes' records (hash: action id -> JSON { resource, region, queue, job, heldAt, fleet? })
  KEYS[5] which resource each slot is on (hash: incident id -> resource)
  KEYS[6] the dropped changes not yet recorded (see includes/drop-held.lua)
  ARGV[1] the fleet incident id
  ARGV[2] why: 'fleet_closed' or 'fleet_cancelled'
  ARGV[3] who closed or cancelled it ('' when not known)
  ARGV[4] now (ms)

  Returns the dropped changes' entries (JSON).
]]
--- @include "drop-held"
local dropped = {}
local records = redis.call('HGETALL', KEYS[4])
for i = 1, #records, 2 do
  local id, raw = records[i], records[i + 1]
  local record = cjson.decode(raw)
  if record.fleet == ARGV[1] then
    if redis.call('ZREM', KEYS[3], id) == 0 then
      local slot = record.job.incidentId
      if redis.call('HGET', KEYS[2], slot .. '|a') == id then
        redis.call('ZREM', KEYS[1], slot)
        redis.call('HDEL', KEYS[2], slot, slot .. '|a')
        redis.call('HDEL', KEYS[5], slot)
      end
    end
    redis.call('HDEL', KEYS[4], id)
    local by = ARGV[3] ~= '' and ARGV[3] or nil
    table.insert(dropped, drop_held(KEYS[6], id, raw, tonumber(ARGV[4]), {because = ARGV[2], by = by}))
  end
end
return dropped
