-- What the batch knows of each incident it reads or writes (intake-7.lua's batch B): status, counts,
-- the stored alerts it asked for, and opening an incident. This script is the only writer while it
-- runs, so each is read at most once.

local function is_closed(id)
  local s = B.statusOf[id]
  if s == nil then
    s = redis.call('HGET', key(B.K.incidentState, id), 'status') or false
    B.statusOf[id] = s
  end
  return (not s) or s == 'resolved' or s == 'failed'
end

-- An incident's alertCount and firingCount (its stored alerts whose status is firing): read once per
-- batch, kept here as the batch changes them, written back once for the incidents it touched.
local function counts(id)
  local c = B.countsOf[id]
  if c == nil then
    local values = redis.call('HMGET', key(B.K.incident, id), 'alertCount', 'firingCount')
    c = { alerts = tonumber(values[1]) or 0, firing = tonumber(values[2]) or 0 }
    B.countsOf[id] = c
  end
  return c
end

-- An incident's stored alert for a fingerprint (false: none), as this batch left it: read at most
-- once; an incident this batch opened holds only what the batch wrote.
local function stored(id, fp)
  local t = B.storedOf[id]
  if not t then
    t = {}
    B.storedOf[id] = t
  end
  local value = t[fp]
  if value == nil then
    value = not B.openedHere[id] and redis.call('HGET', key(B.K.incidentAlerts, id), fp) or false
    t[fp] = value
  end
  return value
end

-- Opens an incident for record `a` (or the storm incident: storm true, a nil). With `investigate` it
-- waits for triage (the backlog) and is returned in `opened`; its triage job is not queued yet.
local function create(id, a, level, severity, priority, storm, investigate)
  local alertname, instance, service, labels, annotations, generatorURL = 'AlertStorm', '', '', '{}', '{}', ''
  if not storm then
    local stored = cjson.decode(a.alert)
    local l = stored[5]
    alertname, instance, service = l.alertname or '', l.instance or '', l.service or l.job or ''
    labels, annotations, generatorURL = cjson.encode(l), cjson.encode(stored[6]), stored[7]
  end
  local now, nowMsText = B.now, B.nowMsText
  redis.call('HSET', key(B.K.incident, id), 'level', level, 'alertname', alertname, 'severity', severity,
    'instance', instance, 'service', service, 'correlationKey', storm and 'storm' or a.ckText,
    'storm', storm and '1' or '0', 'priority', priority, 'alertCount', 0, 'firingCount', 0,
    'labels', labels, 'annotations', annotations, 'generatorURL', generatorURL,
    'createdAt', now, 'createdMs', nowMsText)
  redis.call('HSET', key(B.K.incidentState, id), 'status', 'open', 'createdMs', nowMsText, 'updatedAt', now)
  B.statusOf[id] = 'open'
  B.countsOf[id] = { alerts = 0, firing = 0 }
  B.storedOf[id] = {}
  B.openedHere[id] = true
  redis.call('ZADD', B.incidentIndexKey, nowMsText, id)
  redis.call('ZADD', B.incidentIdsKey, 0, id)
  redis.call('ZADD', key(B.K.statusIndex, 'open'), nowMsText, id)
  if investigate then
    redis.call('SADD', B.backlogKey, id)
    table.insert(B.out.opened, { id, priority, storm and 1 or 0, severity, level, alertname })
  end
end
