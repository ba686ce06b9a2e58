--[[
  One atomic script per webhook batch: dedupe, correlate, storm-guard, open or update incidents.
  Atomicity is what makes "two replicas, same alert, same instant -> one incident" hold.

  KEYS[1] storm window (incidents opened recently, a sorted set)
  KEYS[2] Redis' ingest epoch (written once: a flushed or replaced Redis has none or another)
  KEYS[3] the current storm incident
  KEYS[4] triage backlog (incidents waiting for their triage job)
  KEYS[5] incident index
  KEYS[6] ingest's outbox
  KEYS[7] every incident id issued (sorted by id, all scoring 0: what short ids are resolved among)

  ARGV[1]  the key layout for keys named by id (JSON: shared/keys.ts scriptKeyLayout, plus triageJob)
  ARGV[2]  now (ISO)
  ARGV[3]  now (ms)
  ARGV[4]  storm threshold
  ARGV[5]  storm window (ms)
  ARGV[6]  storm triage budget
  ARGV[7]  a fresh id (a new storm incident takes it, a new incident for record n takes `<id>-<n>`)
  ARGV[8]  dedup TTL seconds (the length of a correlation period)
  ARGV[9]  timeline alert cap
  ARGV[10] candidate epoch
  ARGV[11] the epoch the caller's memory answered under ('' if it answered nothing)
  ARGV[12] the webhook's receiver
  ARGV[13] the notice announcing a resolution (JSON, shared/notices.ts), eventId and incidentId to fill
  ARGV[14] the records, one JSON array of [fp, episodeLength, status, ck, ckText, level, severity, priority]
  ARGV[14 + n] record n's alert as stored (shared/schemas/stored-alert.ts), kept as is in the incident's
           alerts hash and expanded into a timeline entry where the timeline takes one. episodeLength is
           the length in bytes of the stored alert's JSON fingerprint and startsAt with their commas
           (`"fp","startsAt",`): equal text there means the same alert.

  An alert is known by its correlation group's incident: the group's latest incident holds it (by
  fingerprint) with the same startsAt. So the script reads each incident's stored alerts once, and
  nothing else is stored per alert.

  Returns JSON { epoch, stale?, r: [code, incidentId, code, incidentId...] (one pair per record, code
  'new' | 'dup' | 'update'), opened: [[id, priority, storm, severity, level, alertname]...],
  resolved: [id...], pending: [same as opened...] }, where pending are incidents a re-sent alert belongs
  to that still wait for a triage job nobody queued. With `stale` (the caller's memory was about
  another epoch) nothing was written and nothing else is returned.
]]
--- @include "set-status"

-- Numbers that only go back to Redis stay strings: Lua formats a number with sprintf on every call.
local K = cjson.decode(ARGV[1])
local now, nowMs, nowMsText = ARGV[2], tonumber(ARGV[3]), ARGV[3]
local threshold, windowMs, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local freshId, dedupTtl, timelineCap = ARGV[7], ARGV[8], tonumber(ARGV[9])
local receiver = ARGV[12]
local stormOpenedKey, epochKey, stormCurrentKey = KEYS[1], KEYS[2], KEYS[3]
local backlogKey, incidentIndexKey, outboxKey, incidentIdsKey = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local out = { r = {}, opened = {}, resolved = {}, pending = {} }

local epoch = redis.call('GET', epochKey)
if not epoch then
  epoch = ARGV[10]
  redis.call('SET', epochKey, epoch)
end
out.epoch = epoch
if ARGV[11] ~= '' and ARGV[11] ~= epoch then
  out.stale = 1
  return cjson.encode(out)
end
local r = out.r
local pendingChecked = {}


-- Incident statuses read in this batch (this script is the only writer while it runs).
local statusOf = {}
local function is_closed(id)
  local s = statusOf[id]
  if s == nil then
    s = redis.call('HGET', key(K.incidentState, id), 'status') or false
    statusOf[id] = s
  end
  return (not s) or s == 'resolved' or s == 'failed'
end

-- Each incident's alertCount and firingCount (its stored alerts whose status is firing): read once
-- per batch, kept here as the batch changes them, written back once for the incidents it touched.
local countsOf = {}
-- Each incident's stored alerts by fingerprint (false: none) that this batch read or wrote.
local storedOf = {}
-- Incidents this batch opened: they hold only what the batch stored, so there is nothing to read.
local openedHere = {}
local function counts(id)
  local c = countsOf[id]
  if c == nil then
    local values = redis.call('HMGET', key(K.incident, id), 'alertCount', 'firingCount')
    c = { alerts = tonumber(values[1]) or 0, firing = tonumber(values[2]) or 0 }
    countsOf[id] = c
  end
  return c
end

local function create(id, a, level, severity, priority, storm, investigate)
  local alertname, instance, service, labels, annotations, generatorURL = 'AlertStorm', '', '', '{}', '{}', ''
  if not storm then
    local stored = cjson.decode(a.alert)
    local l = stored[5]
    alertname, instance, service = l.alertname or '', l.instance or '', l.service or l.job or ''
    labels, annotations, generatorURL = cjson.encode(l), cjson.encode(stored[6]), stored[7]
  end
  redis.call('HSET', key(K.incident, id), 'level', level, 'alertname', alertname, 'severity', severity,
    'instance', instance, 'service', service, 'correlationKey', storm and 'storm' or a.ckText,
    'storm', storm and '1' or '0', 'priority', priority, 'alertCount', 0, 'firingCount', 0,
    'labels', labels, 'annotations', annotations, 'generatorURL', generatorURL,
    'createdAt', now, 'createdMs', nowMsText)
  redis.call('HSET', key(K.incidentState, id), 'status', 'open', 'createdMs', nowMsText, 'updatedAt', now)
  statusOf[id] = 'open'
  countsOf[id] = { alerts = 0, firing = 0 }
  storedOf[id] = {}
  openedHere[id] = true
  redis.call('ZADD', incidentIndexKey, nowMsText, id)
  redis.call('ZADD', incidentIdsKey, 0, id)
  redis.call('ZADD', key(K.statusIndex, 'open'), nowMsText, id)
  if investigate then
    redis.call('SADD', backlogKey, id)
    table.insert(out.opened, { id, priority, storm and 1 or 0, severity, level, alertname })
  end
end

-- Per-batch memo of the current storm incident (cleared if this batch resolves it).
local stormMemo
local function storm_incident()
  if stormMemo then return stormMemo end
  local id = redis.call('GET', stormCurrentKey)
  if id and not is_closed(id) then
    stormMemo = id
    return id
  end
  create(freshId, nil, 3, 'critical', 1, true, true)
  redis.call('SET', stormCurrentKey, freshId)
  redis.call('RPUSH', key(K.incidentTimeline, freshId), cjson.encode({ at = now, type = 'summary', by = 'ingest',
    message = 'Alert storm: more than ' .. threshold .. ' incidents in ' .. (windowMs / 1000) ..
      ' s. Further alerts are coalesced here; critical ones are still investigated within the triage budget.' }))
  stormMemo = freshId
  return freshId
end

-- Incidents whose counts and alertedAt are written once, after the whole batch.
local touched = {}

local function timeline_overflow()
  return cjson.encode({ at = now, type = 'summary', by = 'ingest',
    message = 'More than ' .. timelineCap .. ' alerts: the rest are counted in alertCount and listed in fingerprints.' })
end

-- An alert's timeline entry: its stored array as an object, with when and from which receiver.
local function alert_entry(a)
  local s = cjson.decode(a.alert)
  return cjson.encode({ at = now, type = 'alert', by = 'ingest', status = s[1], fingerprint = s[2],
    startsAt = s[3], endsAt = s[4], labels = s[5], annotations = s[6], generatorURL = s[7], receiver = receiver })
end

-- Whether a value of an incident's alerts hash is a firing alert (alerts stored before they were
-- arrays are timeline entries, whose first "status" is the alert's).
local function stored_firing(value)
  if not value then return false end
  if string.byte(value, 1) == 91 then return string.sub(value, 1, 10) == '["firing",' end
  return string.match(value, '"status":"(%a+)"') == 'firing'
end

-- Where a stored alert's fingerprint and startsAt begin: after '["firing",' or '["resolved",'.
local function episode_start(value) return string.byte(value, 3) == 102 and 11 or 13 end

-- Whether a stored alert is the record's alert: same fingerprint (the hash field) and startsAt.
local function same_episode(value, a)
  if string.byte(value, 1) ~= 91 then return cjson.decode(value).startsAt == cjson.decode(a.alert)[3] end
  local v, n, len = episode_start(value), episode_start(a.alert), a.episodeLength
  return string.sub(value, v, v + len - 1) == string.sub(a.alert, n, n + len - 1)
end

-- Milliseconds since the epoch of an RFC 3339 time (Alertmanager's startsAt), or nil if it is not one.
local function epoch_ms(text)
  local y, mo, d, h, mi, s, rest = string.match(text, '^(%d%d%d%d)-(%d%d)-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$')
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  -- Days from the civil date (Howard Hinnant's algorithm).
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + tonumber(d) - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  local ms = ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60000 + tonumber(s) * 1000
  local fraction = string.match(rest, '^%.(%d+)')
  if fraction then ms = ms + math.floor(tonumber('0.' .. fraction) * 1000) end
  local sign, oh, om = string.match(rest, '([+-])(%d%d):?(%d%d)$')
  if sign then
    local offset = (tonumber(oh) * 60 + tonumber(om)) * 60000
    ms = sign == '+' and ms - offset or ms + offset
  elseif not string.match(rest, '[Zz]$') then
    return nil
  end
  return ms
end

-- Whether the record's alert began before the stored one: a late re-send of an earlier episode.
-- A stored episode that starts in the future (a sender's clock running ahead) is no later episode:
-- otherwise it would swallow every genuine new episode until the dedup TTL ran out.
local SKEW_MS = 300000
local function earlier_episode(a, value)
  local started = epoch_ms(cjson.decode(a.alert)[3])
  local held = cjson.decode(value)
  local heldStarted = epoch_ms(string.byte(value, 1) == 91 and held[3] or held.startsAt or '')
  return started ~= nil and heldStarted ~= nil and started < heldStarted and heldStarted <= nowMs + SKEW_MS
end

-- An incident's stored alert for a fingerprint (false: none), as this batch left it.
local function stored(id, fp)
  local t = storedOf[id]
  if not t then
    t = {}
    storedOf[id] = t
  end
  local value = t[fp]
  if value == nil then
    value = not openedHere[id] and redis.call('HGET', key(K.incidentAlerts, id), fp) or false
    t[fp] = value
  end
  return value
end

-- Counts an alert to its incident (its timeline takes the first ones); storing it is the caller's.
local function attach(id, a)
  local c = counts(id)
  c.alerts = c.alerts + 1
  local count = c.alerts
  if count <= timelineCap then
    redis.call('RPUSH', key(K.incidentTimeline, id), alert_entry(a))
  elseif count == timelineCap + 1 then
    redis.call('RPUSH', key(K.incidentTimeline, id), timeline_overflow())
  end
  touched[id] = true
end

-- New firing alerts are gathered per incident and written with one command per structure (flush).
local gathered = {}

local function gather(id, a)
  local g = gathered[id]
  if not g then
    g = { alerts = {}, timeline = {} }
    gathered[id] = g
  end
  local c = counts(id)
  -- A fingerprint counts once, and not at all if the incident already holds it firing.
  if not stored_firing(stored(id, a.fp)) then c.firing = c.firing + 1 end
  storedOf[id][a.fp] = a.alert
  local n = #g.alerts
  g.alerts[n + 1], g.alerts[n + 2] = a.fp, a.alert
  c.alerts = c.alerts + 1
  if c.alerts <= timelineCap then
    g.timeline[#g.timeline + 1] = alert_entry(a)
  elseif c.alerts == timelineCap + 1 then
    g.timeline[#g.timeline + 1] = timeline_overflow()
  end
  touched[id] = true
end

-- unpack() has a stack limit: large batches are written in slices.
local function call_in_slices(command, key, values, width)
  for first = 1, #values, 1000 * width do
    redis.call(command, key, unpack(values, first, math.min(#values, first + 1000 * width - 1)))
  end
end

local function read_in_slices(command, key, names)
  local values = {}
  for first = 1, #names, 1000 do
    local last = math.min(#names, first + 999)
    local slice = key and redis.call(command, key, unpack(names, first, last))
      or redis.call(command, unpack(names, first, last))
    for k = 1, #slice do values[first + k - 1] = slice[k] end
  end
  return values
end
local function mget_in_slices(keys) return read_in_slices('MGET', nil, keys) end
local function hmget_in_slices(key, fields) return read_in_slices('HMGET', key, fields) end

-- Timeline entries keep the batch's order: gathered alerts are written before a resolution's.
local function flush()
  for id, g in pairs(gathered) do
    call_in_slices('HSET', key(K.incidentAlerts, id), g.alerts, 2)
    if #g.timeline > 0 then call_in_slices('RPUSH', key(K.incidentTimeline, id), g.timeline, 1) end
  end
  gathered = {}
end

-- Correlation groups: one hash per DEDUP_TTL_SECONDS period, correlation key → the group's latest
-- incident. A group is looked up in this period and the previous one (found only there, it is carried
-- forward), so it is remembered for one to two periods after its last alert. Its incident's alerts
-- hash then says whether an alert was seen before (same fingerprint and startsAt).
local periodMs = tonumber(dedupTtl) * 1000
local period = math.floor(nowMs / periodMs)
local groupsKey, previousGroupsKey = key(K.groups, period), key(K.groups, period - 1)
-- Correlation key → incident (false: unknown) for every record of the batch, kept up to date.
local groupOf = {}
-- What this batch writes to this period's groups, at the end.
local groupWrites = {}
local function set_group(ck, id)
  groupOf[ck] = id
  groupWrites[ck] = id
end

-- Correlation key → incident for this batch (forgotten when an incident resolves).
local joined = {}

-- Stores a resolution on its incident; the incident resolves with its last firing alert.
local function resolve_fp(id, a)
  local c = counts(id)
  if stored_firing(stored(id, a.fp)) then c.firing = c.firing - 1 end
  storedOf[id][a.fp] = a.alert
  touched[id] = true
  redis.call('HSET', key(K.incidentAlerts, id), a.fp, a.alert)
  if c.firing == 0 and not is_closed(id) then
    local entry = cjson.encode({ at = now, type = 'status', by = 'ingest', status = 'resolved',
      message = 'All alerts of this incident resolved' })
    set_status(K, id, 'resolved', entry, now, '')
    statusOf[id] = 'resolved'
    if redis.call('HGET', key(K.incident, id), 'storm') == '1' then
      if redis.call('GET', stormCurrentKey) == id then redis.call('DEL', stormCurrentKey) end
      stormMemo = nil
    end
    redis.call('SREM', backlogKey, id)
    joined = {}
    table.insert(out.resolved, id)
    -- Its announcement is recorded with the resolution (see shared/outbox.ts): ingest dying before
    -- queueing it cannot lose it.
    local notice = cjson.decode(ARGV[13])
    notice.eventId, notice.incidentId = 'resolved-' .. id, id
    redis.call('HSET', outboxKey, notice.eventId, cjson.encode({ recordedMs = nowMs, job = notice }))
  end
end

-- Incidents opened within the storm window, counted once per batch and kept up to date locally.
local recentOpened
local function open_or_join(a)
  if joined[a.ck] then return joined[a.ck] end
  local existing = groupOf[a.ck]
  if existing and not is_closed(existing) then
    joined[a.ck] = existing
    return existing
  end
  if not recentOpened then
    redis.call('ZREMRANGEBYSCORE', stormOpenedKey, '-inf', nowMs - windowMs)
    recentOpened = redis.call('ZCARD', stormOpenedKey)
  end
  local id = freshId .. '-' .. a.index
  if recentOpened >= threshold then
    -- During a storm only critical alerts get their own investigation: at most "budget" per storm,
    -- and only while fewer than "budget" incidents wait for triage.
    local storm = storm_incident()
    local investigate = a.severity == 'critical'
      and tonumber(redis.call('HGET', key(K.incident, storm), 'admitted') or '0') < budget
      and redis.call('SCARD', backlogKey) < budget
    if not investigate then
      set_group(a.ck, storm)
      joined[a.ck] = storm
      return storm
    end
    redis.call('HINCRBY', key(K.incident, storm), 'admitted', 1)
  end
  create(id, a, a.level, a.severity, a.priority, false, true)
  redis.call('ZADD', stormOpenedKey, nowMsText, id)
  recentOpened = recentOpened + 1
  set_group(a.ck, id)
  joined[a.ck] = id
  return id
end

local records = cjson.decode(ARGV[14])
-- Everything the batch needs is decoded and checked before its first write: a batch that cannot
-- be stored whole leaves nothing behind (no empty incident, no backlog entry, no storm count).
for index, rec in ipairs(records) do
  for field = 1, 8 do
    local value = rec[field]
    if type(value) ~= 'string' and type(value) ~= 'number' then
      error('record ' .. index .. ': field ' .. field .. ' is not a string or number')
    end
  end
  local alert = ARGV[14 + index]
  if type(alert) ~= 'string' then error('record ' .. index .. ': its stored alert is missing') end
  -- JSON.stringify escapes only lone surrogates (\udXXX), the one thing cjson cannot decode:
  -- only such alerts are decoded here, so the check costs nothing for the others.
  if string.find(alert, '\\u[dD][89a-fA-F]') then cjson.decode(alert) end
end

local cks, listed = {}, {}
for _, rec in ipairs(records) do
  if not listed[rec[4]] then
    listed[rec[4]] = true
    cks[#cks + 1] = rec[4]
  end
end
local missing = {}
for k, id in ipairs(hmget_in_slices(groupsKey, cks)) do
  groupOf[cks[k]] = id
  if not id then missing[#missing + 1] = cks[k] end
end
local older = {}
for k, id in ipairs(hmget_in_slices(previousGroupsKey, missing)) do
  if id then set_group(missing[k], id) else older[#older + 1] = missing[k] end
end
-- Groups recorded before groups had periods (one corr:<key> string each) are carried forward too.
local legacy = {}
for k, ck in ipairs(older) do legacy[k] = key(K.legacyGroup, ck) end
for k, id in ipairs(mget_in_slices(legacy)) do
  if id then set_group(older[k], id) end
end

-- The stored alerts this batch may repeat: one read per known incident.
local wanted = {}
for _, rec in ipairs(records) do
  local id = groupOf[rec[4]]
  if id then
    local fps = wanted[id]
    if not fps then
      fps = {}
      wanted[id] = fps
    end
    fps[#fps + 1] = rec[1]
  end
end
for id, fps in pairs(wanted) do
  local t = {}
  storedOf[id] = t
  for k, value in ipairs(hmget_in_slices(key(K.incidentAlerts, id), fps)) do t[fps[k]] = value end
end

-- One table for the record at hand, refilled per record (the helpers above keep none of it).
local a = {}
for index, rec in ipairs(records) do
  a.fp, a.episodeLength, a.status, a.ck, a.ckText = rec[1], rec[2], rec[3], rec[4], rec[5]
  a.level, a.severity, a.priority, a.index, a.alert = rec[6], rec[7], rec[8], index, ARGV[14 + index]
  if a.status == 'resolved' then flush() end
  local id = groupOf[a.ck]
  local prior = id and stored(id, a.fp)
  local same = prior and same_episode(prior, a)
  if prior and not same and earlier_episode(a, prior) then
    -- Its incident already holds a later episode of this alert (HA peers and retries arrive late).
    r[#r + 1], r[#r + 2] = 'dup', id
  elseif same then
    if a.status == 'resolved' and stored_firing(prior) then
      if counts(id).alerts <= timelineCap then
        redis.call('RPUSH', key(K.incidentTimeline, id), alert_entry(a))
      end
      resolve_fp(id, a)
      r[#r + 1], r[#r + 2] = 'update', id
    else
      r[#r + 1], r[#r + 2] = 'dup', id
    end
    -- A retried webhook re-ensures the triage job of an incident still waiting for one (when the
    -- first attempt stored the incident but failed before queueing its job: no BullMQ job hash).
    if not pendingChecked[id] then
      pendingChecked[id] = true
      if redis.call('SISMEMBER', backlogKey, id) == 1 and redis.call('EXISTS', key(K.triageJob, id)) == 0 then
        local c = redis.call('HMGET', key(K.incident, id), 'priority', 'storm', 'severity', 'level', 'alertname')
        table.insert(out.pending, { id, tonumber(c[1]), tonumber(c[2]), c[3], tonumber(c[4]), c[5] })
      end
    end
  else
    if a.status == 'firing' then
      id = open_or_join(a)
      gather(id, a)
    elseif id and redis.call('EXISTS', key(K.incident, id)) == 1 then
      -- A resolution whose firing we did not see (or under another startsAt: a new episode of the
      -- series) belongs to its group's incident.
      attach(id, a)
      resolve_fp(id, a)
    else
      -- Resolved before we ever saw it firing: record it on an incident that is already resolved.
      id = freshId .. '-' .. index
      create(id, a, a.level, a.severity, a.priority, false, false)
      attach(id, a)
      resolve_fp(id, a)
    end
    r[#r + 1], r[#r + 2] = 'new', id
  end
end
flush()
local groups = {}
for ck, id in pairs(groupWrites) do
  groups[#groups + 1], groups[#groups + 2] = ck, id
end
if #groups > 0 then
  call_in_slices('HSET', groupsKey, groups, 2)
  -- Kept through the next period, when this period's groups are still looked up.
  redis.call('PEXPIREAT', groupsKey, (period + 2) * periodMs)
end
for id in pairs(touched) do
  local c = countsOf[id]
  redis.call('HSET', key(K.incident, id), 'alertCount', c.alerts, 'firingCount', c.firing, 'alertedAt', now)
end
return cjson.encode(out)
