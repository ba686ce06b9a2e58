--[[
  One atomic script per webhook batch: dedupe, correlate, storm-guard, open or update incidents.
  Atomicity is what makes "two replicas, same alert, same instant -> one incident" hold. Its parts,
  one job each, are in includes/.

  KEYS[1] storm window (incidents opened recently, a sorted set)
  KEYS[2] Redis' ingest epoch (written once: a flushed or replaced Redis has none or another)
  KEYS[3] the current storm incident
  KEYS[4] triage backlog (incidents waiting for their triage job)
  KEYS[5] incident index
  KEYS[6] ingest's outbox
  KEYS[7] every incident id issued (sorted by id, all scoring 0: what short ids are resolved among)

  ARGV[1]  the key layout for keys named by id (JSON: shared/keys.ts scriptKeyLayout)
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
  ARGV[13] the notice announcing a resolution (JSON, shared/notices.ts) for incident '': its id is
           appended to eventId and set as incidentId
  ARGV[14] the records, one JSON array of [fp, startsAt, startsAtMs, status, ck, ckText, level, severity,
           priority]; startsAtMs is startsAt in epoch ms ('' if it is no RFC 3339 time)
  ARGV[14 + n] record n's alert as stored (shared/schemas/stored-alert.ts, startsAt in ms last), kept as
           is in the incident's alerts hash and expanded into a timeline entry where the timeline takes one

  An alert is known by its correlation group's incident: the group's latest incident holds it (by
  fingerprint) with the same startsAt. So the script reads each incident's stored alerts once, and
  nothing else is stored per alert.

  Returns JSON { epoch, stale?, r: [code, incidentId, code, incidentId...] (one pair per record, code
  'new' | 'dup' | 'update'), opened: [[id, priority, storm, severity, level, alertname]...],
  resolved: [id...], waiting: [same as opened...], storm?: the storm incident, when the batch joined or
  opened it }, where waiting are incidents a re-sent alert belongs
  to that still wait for triage (ingest queues the job of those BullMQ has none for: an earlier attempt
  died before queueing it). With `stale` (the caller's memory was about another epoch) nothing was
  written and nothing else is returned.
]]
--- @include "set-status"
--- @include "outbox-entry"

local out = { r = {}, opened = {}, resolved = {}, waiting = {} }
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[10]
  redis.call('SET', KEYS[2], epoch)
end
out.epoch = epoch
if ARGV[11] ~= '' and ARGV[11] ~= epoch then
  out.stale = 1
  return cjson.encode(out)
end

-- The batch: its settings, and what it learnt of the incidents it touched (the includes' state).
-- Numbers that only go back to Redis stay strings: Lua formats a number with sprintf on every call.
local B = {
  K = cjson.decode(ARGV[1]), out = out,
  now = ARGV[2], nowMs = tonumber(ARGV[3]), nowMsText = ARGV[3],
  threshold = tonumber(ARGV[4]), windowMs = tonumber(ARGV[5]), budget = tonumber(ARGV[6]),
  freshId = ARGV[7], dedupTtl = ARGV[8], timelineCap = tonumber(ARGV[9]), receiver = ARGV[12],
  resolvedNotice = ARGV[13],
  stormOpenedKey = KEYS[1], stormCurrentKey = KEYS[3], backlogKey = KEYS[4], incidentIndexKey = KEYS[5],
  outboxKey = KEYS[6], incidentIdsKey = KEYS[7],
  -- Per incident: status, counts, stored alerts by fingerprint (false: none).
  statusOf = {}, countsOf = {}, storedOf = {},
  -- Incidents this batch opened: they hold only what the batch stored, so there is nothing to read.
  openedHere = {},
  -- Incidents whose counts and alertedAt are written once, after the whole batch.
  touched = {},
  -- Correlation key → incident for this batch (forgotten when an incident resolves).
  joined = {},
  -- The current storm incident, once known (cleared if this batch resolves it).
  stormMemo = nil,
}

--- @include "check-batch"
--- @include "slices"
--- @include "incident-records"
--- @include "episodes"
--- @include "alert-timeline"
--- @include "correlation-groups"
--- @include "storm"
--- @include "resolve-incident"

local records = check_batch(ARGV[14], 15)

local cks, listed = {}, {}
for _, a in ipairs(records) do
  if not listed[a.ck] then
    listed[a.ck] = true
    cks[#cks + 1] = a.ck
  end
end
read_groups(cks)

-- The stored alerts this batch may repeat: one read per known incident.
local wanted = {}
for _, a in ipairs(records) do
  local id = groupOf[a.ck]
  if id then
    local fps = wanted[id]
    if not fps then
      fps = {}
      wanted[id] = fps
    end
    fps[#fps + 1] = a.fp
  end
end
for id, fps in pairs(wanted) do
  local t = {}
  B.storedOf[id] = t
  for k, value in ipairs(hmget_in_slices(key(B.K.incidentAlerts, id), fps)) do t[fps[k]] = value end
end

-- A retried webhook re-ensures the triage job of an incident still waiting for triage (when the first
-- attempt stored the incident but failed before queueing its job): ingest asks BullMQ about these.
local waitingChecked = {}
local function check_waiting(id)
  if waitingChecked[id] then return end
  waitingChecked[id] = true
  if redis.call('SISMEMBER', B.backlogKey, id) == 1 then
    local c = redis.call('HMGET', key(B.K.incident, id), 'priority', 'storm', 'severity', 'level', 'alertname')
    table.insert(out.waiting, { id, tonumber(c[1]), tonumber(c[2]), c[3], tonumber(c[4]), c[5] })
  end
end

local r = out.r
for _, a in ipairs(records) do
  if a.status == 'resolved' then flush() end
  local id = groupOf[a.ck]
  local prior = id and stored(id, a.fp)
  local same = prior and same_episode(prior, a)
  if prior and not same and earlier_episode(prior, a) then
    -- Its incident already holds a later episode of this alert (HA peers and retries arrive late).
    r[#r + 1], r[#r + 2] = 'dup', id
  elseif same then
    if a.status == 'resolved' and stored_firing(prior) then
      if counts(id).alerts <= B.timelineCap then
        redis.call('RPUSH', key(B.K.incidentTimeline, id), alert_entry(a))
      end
      resolve_fp(id, a)
      r[#r + 1], r[#r + 2] = 'update', id
    else
      r[#r + 1], r[#r + 2] = 'dup', id
    end
    check_waiting(id)
  else
    if a.status == 'firing' then
      id = open_or_join(a)
      gather(id, a)
    elseif id and redis.call('EXISTS', key(B.K.incident, id)) == 1 then
      -- A resolution whose firing we did not see (or under another startsAt: a new episode of the
      -- series) belongs to its group's incident.
      attach(id, a)
      resolve_fp(id, a)
    else
      -- Resolved before we ever saw it firing: record it on an incident that is already resolved.
      id = B.freshId .. '-' .. a.index
      create(id, a, a.level, a.severity, a.priority, false, false)
      attach(id, a)
      resolve_fp(id, a)
    end
    r[#r + 1], r[#r + 2] = 'new', id
  end
end
flush()
write_groups()
write_counts()
return cjson.encode(out)
