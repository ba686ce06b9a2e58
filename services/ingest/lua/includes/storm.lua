-- Opening incidents under the storm guard: past the threshold of incidents opened within the window,
-- alerts are coalesced into one storm incident, and only critical ones get their own investigation,
-- at most `budget` per storm and only while fewer than `budget` incidents wait for triage.

-- The current storm incident, opened if there is none (memoised per batch; cleared on its resolution).
local function storm_incident()
  if B.stormMemo then return B.stormMemo end
  local id = redis.call('GET', B.stormCurrentKey)
  if id and not is_closed(id) then
    B.stormMemo = id
    B.out.storm = id
    return id
  end
  create(B.freshId, nil, 3, 'critical', 1, true, true)
  redis.call('SET', B.stormCurrentKey, B.freshId)
  redis.call('RPUSH', key(B.K.incidentTimeline, B.freshId), cjson.encode({ at = B.now, type = 'summary', by = 'ingest',
    message = 'Alert storm: more than ' .. B.threshold .. ' incidents in ' .. (B.windowMs / 1000) ..
      ' s. Further alerts are coalesced here; critical ones are still investigated within the triage budget.' }))
  B.stormMemo = B.freshId
  B.out.storm = B.freshId
  return B.freshId
end

-- Incidents opened within the storm window, counted once per batch and kept up to date locally.
local recentOpened

-- The incident a firing record joins: its group's open incident, else a new one (or the storm's).
local function open_or_join(a)
  if B.joined[a.ck] then return B.joined[a.ck] end
  local existing = groupOf[a.ck]
  if existing and not is_closed(existing) then
    B.joined[a.ck] = existing
    return existing
  end
  if not recentOpened then
    redis.call('ZREMRANGEBYSCORE', B.stormOpenedKey, '-inf', B.nowMs - B.windowMs)
    recentOpened = redis.call('ZCARD', B.stormOpenedKey)
  end
  local id = B.freshId .. '-' .. a.index
  if recentOpened >= B.threshold then
    local storm = storm_incident()
    local investigate = a.severity == 'critical'
      and tonumber(redis.call('HGET', key(B.K.incident, storm), 'admitted') or '0') < B.budget
      and redis.call('SCARD', B.backlogKey) < B.budget
    if not investigate then
      set_group(a.ck, storm)
      B.joined[a.ck] = storm
      return storm
    end
    redis.call('HINCRBY', key(B.K.incident, storm), 'admitted', 1)
  end
  create(id, a, a.level, a.severity, a.priority, false, true)
  redis.call('ZADD', B.stormOpenedKey, B.nowMsText, id)
  recentOpened = recentOpened + 1
  set_group(a.ck, id)
  B.joined[a.ck] = id
  return id
end
