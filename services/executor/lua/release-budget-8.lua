--[[
  Frees an incident's slot, exactly once (a second release of the same slot finds nothing), drops
  slots whose lease ended (a killed executor's) and held changes that waited past their time, then
  gives each freed slot to the first held change that fits, in priority order: it keeps that slot
  until it runs and is verified.

  KEYS[1] the resource's slots (sorted set: incident id -> lease end, ms)
  KEYS[2] the slots' regions and changes (hash: incident id -> region, "<incident id>|a" -> action id)
  KEYS[3] the held changes (sorted set: action id -> priority * 1e13 + held at, ms)
  KEYS[4] the held changes' records (hash: action id -> JSON { resource, region, queue, job, heldAt })
  KEYS[5] which resource each slot is on (hash: incident id -> resource)
  KEYS[6] the resources with slots or held changes (a set), for the sweep
  KEYS[7] the region going first per tool (hash: tool -> JSON { region, slot, actionId })
  KEYS[8] the dropped changes not yet recorded (see includes/drop-held.lua)
  ARGV[1] now (ms)
  ARGV[2] the incident id (slot) to release ('' = only expire and promote)
  ARGV[3] the lease (ms)
  ARGV[4] maxInFlight (per region)
  ARGV[5] maxInFlightFleet
  ARGV[6] how long a change may stay held (ms)
  ARGV[7] the resource
  ARGV[8] the verdict on the released change: 'fixed', 'ineffective', 'failed' or 'none' (it did
          not run). When it was its fix's first region, 'fixed' lets the other regions go (in
          priority order, within budgets); 'ineffective' or 'failed' cancels the fix's held changes
          in the other regions.
  ARGV[9] the fleet keys' prefix ("<prefix>:fleet:"; see hold-for-fleet-3.lua)
  ARGV[10] the released regions' prefix ("<prefix>:exec:fleet:")
  ARGV[11] the open fleet incidents on the resource (hash: alertname -> fleet incident id; ingest's,
           so not among KEYS: the executor may only read it, and a script's KEYS need write access)

  A fleet incident open on the resource holds every change in a region no human released for it
  (whatever held it first: it is tagged with that fleet), and a change held for a fleet that closed
  (or is gone) is cancelled, never promoted. A fleet-held change does not expire while its fleet
  holds it: humans decide; its holdSeconds count from its region's release.

  On a sweep (no slot released), held changes that own a slot but were never claimed (the executor
  died between promoting one and queueing its run) are in the reply's promoted ones again: their
  run is queued again, deduplicated by its job id.

  The changes it drops (held too long, their fix's first region did not fix it, their fleet closed)
  go to the dropped changes not yet recorded, with why, in this script.

  Returns {released (0|1), promoted record JSON..., '|', dropped entry JSON...}.
]]
--- @include "drop-held"
local now = tonumber(ARGV[1])
local released = 0
local stopped = nil
if ARGV[2] ~= '' then
  for _, tool in ipairs(redis.call('HKEYS', KEYS[7])) do
    local first = cjson.decode(redis.call('HGET', KEYS[7], tool))
    if first.slot == ARGV[2] then
      redis.call('HDEL', KEYS[7], tool)
      if ARGV[8] == 'ineffective' or ARGV[8] == 'failed' then
        stopped = {tool = tool, region = first.region, actionId = first.actionId}
      end
    end
  end
  released = redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2], ARGV[2] .. '|a')
  redis.call('HDEL', KEYS[5], ARGV[2])
end

--- @include "expire-slots"

local reply = {released}
local dropped = {}
local drop = function(id, raw, why)
  table.insert(dropped, drop_held(KEYS[8], id, raw, now, why))
end
local waves = {}
for _, tool in ipairs(redis.call('HKEYS', KEYS[7])) do
  local first = cjson.decode(redis.call('HGET', KEYS[7], tool))
  if redis.call('ZSCORE', KEYS[1], first.slot) then waves[tool] = first end
end
-- Fleet incidents open on the resource, and the regions humans released from each.
local fleets = {}
local openOn = redis.call('HVALS', ARGV[11])
local fleetOf = function(id)
  if fleets[id] == nil then
    local status = redis.call('HGET', ARGV[9] .. id, 'status')
    fleets[id] = {open = status == 'open', by = redis.call('HGET', ARGV[9] .. id, 'closedBy') or ''}
  end
  return fleets[id]
end
local releases = {}
local releasedAt = function(id, region)
  local key = ARGV[10] .. id .. ':released'
  releases[key] = releases[key] or redis.call('HGETALL', key)
  for i = 1, #releases[key], 2 do
    if releases[key][i] == region then return tonumber(releases[key][i + 1]) end
  end
  return nil
end
-- The fleet that holds a change in this region now, if any: its own first, then any open on the resource.
local holdingFleet = function(record)
  if record.fleet and fleetOf(record.fleet).open and not releasedAt(record.fleet, record.region) then
    return record.fleet
  end
  for _, id in ipairs(openOn) do
    if fleetOf(id).open and not releasedAt(id, record.region) then return id end
  end
  return nil
end

if ARGV[2] == '' then
  for _, id in ipairs(redis.call('HKEYS', KEYS[4])) do
    if not redis.call('ZSCORE', KEYS[3], id) then
      local raw = redis.call('HGET', KEYS[4], id)
      if redis.call('ZSCORE', KEYS[1], cjson.decode(raw).job.incidentId) then table.insert(reply, raw) end
    end
  end
end

local held = redis.call('ZRANGE', KEYS[3], 0, -1)
local fleet = redis.call('ZCARD', KEYS[1])
local perRegion = {}
for _, holder in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local region = redis.call('HGET', KEYS[2], holder) or ''
  perRegion[region] = (perRegion[region] or 0) + 1
end
local slotOf = function(record) return record.job.incidentId end
for _, id in ipairs(held) do
  local raw = redis.call('HGET', KEYS[4], id)
  local record = raw and cjson.decode(raw)
  local wave = record and waves[record.job.tool]
  local holding = record and holdingFleet(record)
  local heldSince = record and tonumber(record.heldAt)
  if record and record.fleet and not holding then
    heldSince = math.max(heldSince, releasedAt(record.fleet, record.region) or 0)
  end
  if not record then
    redis.call('ZREM', KEYS[3], id)
  elseif record.fleet and not fleetOf(record.fleet).open then
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    local by = fleetOf(record.fleet).by
    drop(id, raw, {because = 'fleet_closed', by = by ~= '' and by or nil})
  elseif holding then
    if not record.fleet then
      redis.call('HSET', KEYS[4], id, string.sub(raw, 1, -2) .. ',"fleet":' .. cjson.encode(holding) .. '}')
    end
  elseif stopped and record.job.tool == stopped.tool and record.region ~= stopped.region then
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    drop(id, raw, {because = 'first_region', first = {region = stopped.region, actionId = stopped.actionId}})
  elseif now - heldSince > tonumber(ARGV[6]) then
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    drop(id, raw, {because = 'held_too_long'})
  elseif wave and wave.region ~= record.region then
    -- its fix is still being verified in the region going first
  elseif redis.call('ZSCORE', KEYS[1], slotOf(record)) then
    -- its incident holds a slot already: the change is its own
    redis.call('ZREM', KEYS[3], id)
    table.insert(reply, raw)
  elseif fleet < tonumber(ARGV[5]) and (perRegion[record.region] or 0) < tonumber(ARGV[4]) then
    local slot = slotOf(record)
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), slot)
    redis.call('HSET', KEYS[2], slot, record.region, slot .. '|a', id)
    redis.call('HSET', KEYS[5], slot, record.resource)
    fleet = fleet + 1
    perRegion[record.region] = (perRegion[record.region] or 0) + 1
    if not wave then
      waves[record.job.tool] = {region = record.region, slot = slot, actionId = id}
      redis.call('HSET', KEYS[7], record.job.tool, cjson.encode(waves[record.job.tool]))
    end
    table.insert(reply, raw)
  end
end
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[3]) == 0 then
  redis.call('SREM', KEYS[6], ARGV[7])
end
table.insert(reply, '|')
for _, entry in ipairs(dropped) do table.insert(reply, entry) end
return reply
