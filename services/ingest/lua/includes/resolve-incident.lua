-- Stores a resolution on its incident; the incident resolves with its last firing alert, and its
-- announcement is recorded with the resolution (shared/outbox.ts): ingest dying before queueing it
-- cannot lose it.
local function resolve_fp(id, a)
  local c = counts(id)
  if stored_firing(stored(id, a.fp)) then c.firing = c.firing - 1 end
  B.storedOf[id][a.fp] = a.alert
  B.touched[id] = true
  redis.call('HSET', key(B.K.incidentAlerts, id), a.fp, a.alert)
  if c.firing == 0 and not is_closed(id) then
    local entry = cjson.encode({ at = B.now, type = 'status', by = 'ingest', status = 'resolved',
      message = 'All alerts of this incident resolved' })
    set_status(B.K, id, 'resolved', entry, B.now, '')
    B.statusOf[id] = 'resolved'
    if redis.call('HGET', key(B.K.incident, id), 'storm') == '1' then
      if redis.call('GET', B.stormCurrentKey) == id then redis.call('DEL', B.stormCurrentKey) end
      B.stormMemo = nil
    end
    redis.call('SREM', B.backlogKey, id)
    B.joined = {}
    table.insert(B.out.resolved, id)
    local notice = cjson.decode(B.resolvedNotice)
    -- Its event id is the one notices.ts gives an empty incident id, with this incident's appended.
    notice.eventId, notice.incidentId = notice.eventId .. id, id
    record_notice(B.outboxKey, notice, B.nowMs)
  end
end
