--[[
  Holds a change while a fleet incident is open on its resource (shared/fleet.ts): one cause behind
  many alerts, so every automated change to the resource waits until a human releases its region,
  cancels the held changes, or the fleet incident closes (then they are dropped, never run). The
  fleet's keys are ingest's; the released regions are the executor's. One script, so a change is
  never let through by a fleet opening or a region's release landing between the read and the hold.

  KEYS[1] the resource's held changes (sorted set: action id -> priority * 1e13 + held at, ms)
  KEYS[2] the held changes' records (hash: action id -> JSON { resource, region, queue, job, heldAt })
  KEYS[3] the resources with slots or held changes (a set), for the sweep

  ARGV[1] now (ms)
  ARGV[2] the change's region
  ARGV[3] the action id
  ARGV[4] its record if held (a JSON object, without `fleet`)
  ARGV[5] the resource
  ARGV[6] the fleet keys' prefix ("<prefix>:fleet:"; a fleet is <prefix>:fleet:<id>, its places
          <prefix>:fleet:<id>:places: same hash tag as every key here)
  ARGV[7] the released regions' prefix ("<prefix>:exec:fleet:"; <prefix>:exec:fleet:<id>:released,
          a hash region -> ms)
  ARGV[8] the priority weight
  ARGV[9] the open fleet incidents on the resource (hash: alertname -> fleet incident id)
  ARGV[10] the incident's core (hash; its `priority` orders the held changes)
  (ARGV[9], ARGV[10] and the fleet's keys are ingest's, read only: not among KEYS, which need write
  access under the executor's ACL; every key here shares one hash tag.)

  Returns {'free'}, or {'held', fleet incident id, alertname, regions, targets}.
]]
local region = ARGV[2]
local open = redis.call('HGETALL', ARGV[9])
for i = 2, #open, 2 do
  local id = open[i]
  local fleet = ARGV[6] .. id
  if redis.call('HGET', fleet, 'status') == 'open'
    and redis.call('HEXISTS', ARGV[7] .. id .. ':released', region) == 0 then
    local priority = tonumber(redis.call('HGET', ARGV[10], 'priority') or '') or 0
    priority = math.max(0, math.min(priority, 100))
    redis.call('ZADD', KEYS[1], 'NX', priority * tonumber(ARGV[8]) + tonumber(ARGV[1]), ARGV[3])
    -- The record is kept as sent, with the fleet added (cjson would turn an empty array into {}).
    local record = string.sub(ARGV[4], 1, -2) .. ',"fleet":' .. cjson.encode(id) .. '}'
    redis.call('HSETNX', KEYS[2], ARGV[3], record)
    redis.call('SADD', KEYS[3], ARGV[5])
    local regions, seen, targets = 0, {}, 0
    for _, where in ipairs(redis.call('HVALS', fleet .. ':places')) do
      targets = targets + 1
      if not seen[where] then
        seen[where] = true
        regions = regions + 1
      end
    end
    return {'held', id, redis.call('HGET', fleet, 'alertname') or '', regions, targets}
  end
end
return {'free'}
