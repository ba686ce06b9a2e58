-- Counting alerts to their incidents and writing them: the alerts hash and the timeline, which takes
-- the first timelineCap alerts and then one overflow entry.

local function timeline_overflow()
  return cjson.encode({ at = B.now, type = 'summary', by = 'ingest',
    message = 'More than ' .. B.timelineCap .. ' alerts: the rest are counted in alertCount and listed in fingerprints.' })
end

-- An alert's timeline entry: its stored array as an object, with when and from which receiver.
local function alert_entry(a)
  local s = cjson.decode(a.alert)
  return cjson.encode({ at = B.now, type = 'alert', by = 'ingest', status = s[1], fingerprint = s[2],
    startsAt = s[3], endsAt = s[4], labels = s[5], annotations = s[6], generatorURL = s[7], receiver = B.receiver })
end

-- Counts an alert to its incident (its timeline takes the first ones); storing it is the caller's.
local function attach(id, a)
  local c = counts(id)
  c.alerts = c.alerts + 1
  local count = c.alerts
  if count <= B.timelineCap then
    redis.call('RPUSH', key(B.K.incidentTimeline, id), alert_entry(a))
  elseif count == B.timelineCap + 1 then
    redis.call('RPUSH', key(B.K.incidentTimeline, id), timeline_overflow())
  end
  B.touched[id] = true
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
  B.storedOf[id][a.fp] = a.alert
  local n = #g.alerts
  g.alerts[n + 1], g.alerts[n + 2] = a.fp, a.alert
  c.alerts = c.alerts + 1
  if c.alerts <= B.timelineCap then
    g.timeline[#g.timeline + 1] = alert_entry(a)
  elseif c.alerts == B.timelineCap + 1 then
    g.timeline[#g.timeline + 1] = timeline_overflow()
  end
  B.touched[id] = true
end

-- Timeline entries keep the batch's order: gathered alerts are written before a resolution's.
local function flush()
  for id, g in pairs(gathered) do
    call_in_slices('HSET', key(B.K.incidentAlerts, id), g.alerts, 2)
    if #g.timeline > 0 then call_in_slices('RPUSH', key(B.K.incidentTimeline, id), g.timeline, 1) end
  end
  gathered = {}
end

-- Writes back the counts of every incident the batch touched, with when it was last alerted.
local function write_counts()
  for id in pairs(B.touched) do
    local c = B.countsOf[id]
    redis.call('HSET', key(B.K.incident, id), 'alertCount', c.alerts, 'firingCount', c.firing, 'alertedAt', B.now)
  end
end
