--[[
  Checks a resource's change budgets and, when both have room, takes a slot: one script, so two
  executors can never both take the last slot. A slot is an incident's: its further changes to the
  resource while it holds one are its own (rate limits judge those). A change without room is held
  (kept with its job, to run by itself when a slot frees: see release-budget-8.lua).

  KEYS[1] the resource's slots (sorted set: incident id -> lease end, ms)
  KEYS[2] the slots' regions and changes (hash: incident id -> region, "<incident id>|a" -> action id)
  KEYS[3] the held changes (sorted set: action id -> priority * 1e13 + held at, ms)
  KEYS[4] the held changes' records (hash: action id -> JSON { region, queue, job, heldAt })
  KEYS[5] which resource each slot is on (hash: incident id -> resource), for its release
  KEYS[6] the resources with slots or held changes (a set), for the sweep
  KEYS[7] the region going first per tool (hash: tool -> JSON { region, slot, actionId })

  ARGV[1] now (ms)
  ARGV[2] the incident id (the slot)
  ARGV[3] its region
  ARGV[4] the lease (ms): the longest a change may stay in flight, its run and its verification
  ARGV[5] maxInFlight (per region)
  ARGV[6] maxInFlightFleet
  ARGV[7] its score if held
  ARGV[8] its record if held (JSON)
  ARGV[9] the resource
  ARGV[10] the tool
  ARGV[11] the action id

  Returns {'taken', 'new'|'again'}, or {'held', 'region'|'fleet', action id, ...} (the changes in
  flight that hold the full budget), or {'held', 'first', its action id, its region} (the same fix is
  being verified in another region first).
]]
local now = tonumber(ARGV[1])
local slot = ARGV[2]
local region = ARGV[3]
local lease = now + tonumber(ARGV[4])
local action = ARGV[11]

--- @include "expire-slots"
redis.call('SADD', KEYS[6], ARGV[9])

-- The incident holds a slot already (a slot released to its held change, or an earlier change).
if redis.call('ZSCORE', KEYS[1], slot) then
  redis.call('ZADD', KEYS[1], lease, slot)
  return {'taken', 'again'}
end

local hold = function()
  redis.call('ZADD', KEYS[3], 'NX', tonumber(ARGV[7]), action)
  redis.call('HSETNX', KEYS[4], action, ARGV[8])
end
local changes = function(slots)
  local named = {}
  for _, holder in ipairs(slots) do
    table.insert(named, redis.call('HGET', KEYS[2], holder .. '|a') or holder)
  end
  return named
end

-- The same fix in another region waits until the region going first is verified.
local first = redis.call('HGET', KEYS[7], ARGV[10])
first = first and cjson.decode(first)
if first and not redis.call('ZSCORE', KEYS[1], first.slot) then first = nil end
if first and first.region ~= region then
  hold()
  return {'held', 'first', first.actionId, first.region}
end

local holders = redis.call('ZRANGE', KEYS[1], 0, -1)
local inRegion = {}
for _, holder in ipairs(holders) do
  if redis.call('HGET', KEYS[2], holder) == region then table.insert(inRegion, holder) end
end
if #inRegion >= tonumber(ARGV[5]) then
  hold()
  return {'held', 'region', unpack(changes(inRegion))}
end
if #holders >= tonumber(ARGV[6]) then
  hold()
  return {'held', 'fleet', unpack(changes(holders))}
end
if not first then
  redis.call('HSET', KEYS[7], ARGV[10], cjson.encode({region = region, slot = slot, actionId = action}))
end
redis.call('ZADD', KEYS[1], lease, slot)
redis.call('HSET', KEYS[2], slot, region, slot .. '|a', action)
redis.call('HSET', KEYS[5], slot, ARGV[9])
return {'taken', 'new'}
