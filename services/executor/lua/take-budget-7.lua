--[[
  Checks a resource's change budgets and, when both have room, takes a slot: one script, so two
  executors can never both take the last slot. A change without room is held (kept with its job, to
  run by itself when a slot frees: see release-budget-4.lua).

  KEYS[1] the resource's slots (sorted set: action id -> lease end, ms)
  KEYS[2] the slots' regions (hash: action id -> region)
  KEYS[3] the held changes (sorted set: action id -> priority * 1e13 + held at, ms)
  KEYS[4] the held changes' records (hash: action id -> JSON { region, queue, job, heldAt })
  KEYS[5] which resource each slot's change is to (hash: action id -> resource), for its release
  KEYS[6] the resources with slots or held changes (a set), for the sweep
  KEYS[7] the region going first per tool (hash: tool -> JSON { region, actionId }): region by region

  ARGV[1] now (ms)
  ARGV[2] the action id
  ARGV[3] its region
  ARGV[4] the lease (ms): the longest a change may stay in flight, its run and its verification
  ARGV[5] maxInFlight (per region)
  ARGV[6] maxInFlightFleet
  ARGV[7] its score if held
  ARGV[8] its record if held (JSON)
  ARGV[9] the resource
  ARGV[10] the tool

  Returns {'taken'}, or {'held', 'region'|'fleet', holder, holder, ...} (the changes in flight that
  hold the full budget), or {'held', 'first', its action id, its region} (the same fix is being
  verified in another region first).
]]
local now = tonumber(ARGV[1])
local id = ARGV[2]
local region = ARGV[3]
local lease = now + tonumber(ARGV[4])

-- A slot released to this change (or an earlier attempt's): it is this change's still.
if redis.call('ZSCORE', KEYS[1], id) then
  redis.call('ZADD', KEYS[1], lease, id)
  return {'taken'}
end

--- @include "expire-slots"
redis.call('SADD', KEYS[6], ARGV[9])

local hold = function()
  redis.call('ZADD', KEYS[3], 'NX', tonumber(ARGV[7]), id)
  redis.call('HSETNX', KEYS[4], id, ARGV[8])
end

-- The same fix in another region waits until the region going first is verified.
local first = redis.call('HGET', KEYS[7], ARGV[10])
first = first and cjson.decode(first)
if first and not redis.call('ZSCORE', KEYS[1], first.actionId) then first = nil end
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
  return {'held', 'region', unpack(inRegion)}
end
if #holders >= tonumber(ARGV[6]) then
  hold()
  return {'held', 'fleet', unpack(holders)}
end
if not first then redis.call('HSET', KEYS[7], ARGV[10], cjson.encode({region = region, actionId = id})) end
redis.call('ZADD', KEYS[1], lease, id)
redis.call('HSET', KEYS[2], id, region)
redis.call('HSET', KEYS[5], id, ARGV[9])
return {'taken'}
