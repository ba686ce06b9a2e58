--[[
  Fleet incidents (shared/fleet.ts), atomic with intake: run once per webhook batch after the intake
  script and before its triage jobs are queued. Idempotent: a re-sent batch repairs what a crash left.

  KEYS[1] ingest's outbox
  KEYS[2] incident index
  KEYS[3] every incident id issued
  KEYS[4] the current storm incident

  ARGV[1] the key layout (JSON: shared/keys.ts scriptKeyLayout)
  ARGV[2] now (ISO)
  ARGV[3] now (ms)
  ARGV[4] widespread settings (JSON { minRegions, minTargets, minFraction, windowMs })
  ARGV[5] a fresh id (the n-th fleet this batch opens takes `<id>-f<n>`)
  ARGV[6] the fleet_opened notice (JSON, shared/notices.ts) with `%{fact}` for the script to fill in
  ARGV[7] the batch's placed alerts by (alertname, resource), JSON [{ a: alertname, r: resource,
          sk: sightings key, known: known target count (0: unknown), s: [[place, region, status,
          incident id, severity, host]...] }]
  ARGV[8] the incidents intake resolved in this batch (JSON [id...]): a fleet whose last open member
          resolved closes
  ARGV[9] the notice announcing a resolution, for incident '' (shared/notices.ts resolvedNotice)

  Alerts the storm incident holds are left out. Per (alertname, resource): while a fleet is open for
  it, each firing alert's incident joins it. Else each firing alert's place whose incident is not
  settled (linked to a closed fleet, resolved or failed) is sighted (region, last
  seen, incident), sightings older than the window are forgotten, and if they reach minRegions
  regions (other than `unknown`), minTargets places or minFraction of the known count (at least 2 places), a level-3
  fleet incident opens, links every sighted incident both ways and records ONE page in the outbox.
  A resolved alert's place is forgotten either way.

  Returns JSON { opened: [[fleet id, notice event id]...], closed: [fleet id...] }.
]]
--- @include "set-status"
--- @include "outbox-entry"
--- @include "fleet-keys"
--- @include "fleet-close"

local K = cjson.decode(ARGV[1])
local now, nowMsText = ARGV[2], ARGV[3]
local nowMs = tonumber(nowMsText)
local S = cjson.decode(ARGV[4])
local groups = cjson.decode(ARGV[7])
local out = { opened = {}, closed = {} }
local RANK = { critical = 0, error = 1, warning = 1, info = 2 }

local function rank(severity)
  return RANK[severity] or 3
end

-- Links incident `id` (at `place`, in `region`) to fleet `fleetId`, both ways. The fleet's timeline
-- names the first JOINED_SHOWN members that join, then says once that the rest are in its members.
local JOINED_SHOWN = 50
local function link(fleetId, resource, id, place, region, host)
  redis.call('HSET', key(K.fleetPlaces, fleetId), place, region)
  local membersKey = key(K.fleetMembers, fleetId)
  if redis.call('SADD', membersKey, id) == 0 then return end
  redis.call('HSET', key(K.incident, id), 'fleetIncident', fleetId)
  local count = redis.call('SCARD', membersKey)
  if count <= JOINED_SHOWN then
    redis.call('RPUSH', key(K.incidentTimeline, fleetId), cjson.encode({ at = now, type = 'summary',
      by = 'ingest', message = 'joined: ' .. resource .. ' on ' .. host .. ' (' .. region .. ')', incident = id }))
  elseif count == JOINED_SHOWN + 1 then
    redis.call('RPUSH', key(K.incidentTimeline, fleetId), cjson.encode({ at = now, type = 'summary',
      by = 'ingest', message = 'More than ' .. JOINED_SHOWN .. ' incidents joined: the rest are listed in its members.' }))
  end
end

local function fill(text, facts)
  return (string.gsub(text, '%%{(%w+)}', function(name) return facts[name] or '' end))
end

-- The sightings of one (alertname, resource) still within the window: place → { region, id }.
local function current_sightings(sk)
  local flat = redis.call('HGETALL', sk)
  local live, stale = {}, {}
  for i = 1, #flat, 2 do
    local region, seen, id = string.match(flat[i + 1], '^([^\t]*)\t(%d+)\t(.*)$')
    if region and nowMs - tonumber(seen) <= S.windowMs then
      live[flat[i]] = { region = region, id = id }
    else
      stale[#stale + 1] = flat[i]
    end
  end
  -- In slices: unpack of a very long list overflows Lua's stack.
  for i = 1, #stale, 1000 do redis.call('HDEL', sk, unpack(stale, i, math.min(i + 999, #stale))) end
  return live
end

local opened = 0
local function open_fleet(g, live)
  local regionSet, regions, places, severity = {}, {}, 0, nil
  for _, s in pairs(live) do
    places = places + 1
    if s.region ~= 'unknown' and not regionSet[s.region] then
      regionSet[s.region] = true
      regions[#regions + 1] = s.region
    end
  end
  -- A fleet is many alerts: one place is never one (the whole of a single-instance job is one place).
  local crossed = #regions >= S.minRegions or places >= S.minTargets or
    (g.known > 0 and places >= 2 and places / g.known >= S.minFraction)
  if not crossed then return nil end
  table.sort(regions)
  opened = opened + 1
  local id = ARGV[5] .. '-f' .. opened
  -- The highest severity of its members.
  for _, s in pairs(live) do
    local sev = redis.call('HGET', key(K.incident, s.id), 'severity') or 'warning'
    if not severity or rank(sev) < rank(severity) then severity = sev end
  end
  local regionText = #regions > 0 and table.concat(regions, ', ') or 'unknown'
  local summary = g.r .. ': ' .. g.a .. ' in ' .. #regions .. ' region' .. (#regions == 1 and '' or 's') ..
    ' (' .. regionText .. '), ' .. places .. ' target' .. (places == 1 and '' or 's')
  redis.call('HSET', key(K.incident, id), 'level', 3, 'alertname', g.a, 'severity', severity or 'warning',
    'instance', '', 'service', g.r, 'correlationKey', 'fleet ' .. g.a .. ' ' .. g.r, 'storm', '0',
    'priority', 1, 'alertCount', 0, 'firingCount', 0,
    'labels', cjson.encode({ alertname = g.a, service = g.r }), 'annotations', '{}', 'generatorURL', '',
    'createdAt', now, 'createdMs', nowMsText)
  redis.call('HSET', key(K.incidentState, id), 'status', 'escalated', 'createdMs', nowMsText,
    'updatedAt', now, 'summary', summary)
  redis.call('ZADD', KEYS[2], nowMsText, id)
  redis.call('ZADD', KEYS[3], 0, id)
  redis.call('ZADD', key(K.statusIndex, 'escalated'), nowMsText, id)
  redis.call('RPUSH', key(K.incidentTimeline, id), cjson.encode({ at = now, type = 'status', by = 'ingest',
    status = 'escalated', message = 'Fleet incident opened: ' .. summary ..
      '. Every automated change to ' .. g.r .. ' is held until a human releases a region or cancels.' }))
  redis.call('HSET', key(K.fleet, id), 'alertname', g.a, 'resource', g.r, 'status', 'open', 'openedAt', now)
  redis.call('HSET', g.openKey, g.a, id)
  for place, s in pairs(live) do
    local host = string.match(place, '\n(.*)$') or place
    link(id, g.r, s.id, place, s.region, host)
  end
  local notice = cjson.decode(ARGV[6])
  local facts = { id = id, alertname = g.a, resource = g.r, regions = regionText,
    regionCount = tostring(#regions), targets = tostring(places) }
  for _, field in ipairs({ 'eventId', 'incidentId', 'title', 'text' }) do notice[field] = fill(notice[field], facts) end
  -- The regions as a list: Slack puts a Release button on the page for each.
  notice.details = { regions = regions, targets = places, resource = g.r }
  if #regions == 0 then notice.details.regions = nil end
  record_notice(KEYS[1], notice, nowMs)
  out.opened[#out.opened + 1] = { id, notice.eventId }
  return id
end

-- Alerts the storm incident coalesces stay out: it pages once already, and is no one target's incident.
local storm = redis.call('GET', KEYS[4])

-- Whether incident `id` was settled already: it belongs to a fleet that closed (a human resolved the
-- fleet while its alerts still fire), or it was resolved or failed (by a human: a re-sent alert of a
-- resolved episode lands on its resolved incident). Alertmanager re-sends firing alerts for as long as
-- they fire; counted again, they would open a new fleet and page again after the human's decision.
local function settled(id)
  if redis.call('HEXISTS', key(K.incident, id), 'fleetIncident') == 1 then return true end
  local status = redis.call('HGET', key(K.incidentState, id), 'status')
  return status == 'resolved' or status == 'failed'
end

-- While a fleet is open for the group, its firing alerts join it and are not sighted: sightings only
-- open a fleet (and resolved places are still forgotten, so a later fleet counts only live ones).
local function observe_group(g, sightings)
  g.openKey = fleet_open_key(K, g.r)
  local fleetId = redis.call('HGET', g.openKey, g.a)
  if fleetId then
    -- Resolved by a human, but ingest died before closing the fleet: closed now.
    local status = redis.call('HGET', key(K.incidentState, fleetId), 'status')
    if status == 'resolved' or status == 'failed' then
      if close_fleet(K, fleetId, 'ingest', now, nowMs, KEYS[1], ARGV[9]) then
        out.closed[#out.closed + 1] = fleetId
      end
      fleetId = nil
    end
  end
  local firing = false
  for _, s in ipairs(sightings) do
    if s[3] ~= 'firing' then
      redis.call('HDEL', g.sk, s[1])
    elseif fleetId then
      link(fleetId, g.r, s[4], s[1], s[2], s[6])
    elseif settled(s[4]) then
      redis.call('HDEL', g.sk, s[1])
    else
      firing = true
      redis.call('HSET', g.sk, s[1], s[2] .. '\t' .. nowMsText .. '\t' .. s[4])
    end
  end
  if firing then
    open_fleet(g, current_sightings(g.sk))
    redis.call('PEXPIRE', g.sk, S.windowMs)
  end
end

for _, g in ipairs(groups) do
  local kept = {}
  for _, s in ipairs(g.s) do
    if s[4] ~= storm then kept[#kept + 1] = s end
  end
  if #kept > 0 then observe_group(g, kept) end
end

-- A fleet closes when intake resolved its last open member.
local closing = {}
for _, id in ipairs(cjson.decode(ARGV[8])) do
  local fleetId = redis.call('HGET', key(K.incident, id), 'fleetIncident')
  if fleetId and not closing[fleetId] then
    closing[fleetId] = true
    if fleet_members_closed(K, fleetId) and close_fleet(K, fleetId, 'ingest', now, nowMs, KEYS[1], ARGV[9]) then
      out.closed[#out.closed + 1] = fleetId
    end
  end
end
return cjson.encode(out)
