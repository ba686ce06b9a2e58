-- close_fleet(K, fleetId, by, now, nowMs, outboxKey, resolvedNotice): closes an open fleet incident:
-- its incident resolves through the usual status path (its resolution announced through the outbox,
-- unless it was resolved already, as after a human's resolve), the fleet hash says closed, by whom
-- and when, and the resource's open fleets forget it. Returns true if it was open.
local function close_fleet(K, fleetId, by, now, nowMs, outboxKey, resolvedNotice)
  local fleetKey = key(K.fleet, fleetId)
  local f = redis.call('HMGET', fleetKey, 'status', 'alertname', 'resource')
  if f[1] ~= 'open' then return false end
  redis.call('HSET', fleetKey, 'status', 'closed', 'closedAt', now, 'closedBy', by)
  local openKey = fleet_open_key(K, f[3])
  if redis.call('HGET', openKey, f[2]) == fleetId then redis.call('HDEL', openKey, f[2]) end
  local entry = cjson.encode({ at = now, type = 'status', by = by, status = 'resolved',
    message = 'Fleet incident closed: changes it held are dropped, never run' })
  local previous = set_status(K, fleetId, 'resolved', entry, now, '')
  if previous and previous ~= 'resolved' then
    local notice = cjson.decode(resolvedNotice)
    notice.eventId, notice.incidentId = notice.eventId .. fleetId, fleetId
    record_notice(outboxKey, notice, nowMs)
  else
    redis.call('RPUSH', key(K.incidentTimeline, fleetId), entry)
  end
  return true
end

-- Whether every member of a fleet incident is closed (resolved or failed).
local function fleet_members_closed(K, fleetId)
  for _, member in ipairs(redis.call('SMEMBERS', key(K.fleetMembers, fleetId))) do
    local s = redis.call('HGET', key(K.incidentState, member), 'status')
    if s ~= 'resolved' and s ~= 'failed' and s then return false end
  end
  return true
end
