-- key(template, id): a key of the layout shared/keys.ts sends (scriptKeyLayout), [before, after] the id.
local function key(template, id) return template[1] .. id .. template[2] end

-- set_status(K, id, status, entryJson, now, allowed) moves incident `id` to `status`, keeping the
-- per-status indexes in step and appending `entryJson` to its timeline. K is the key layout;
-- `allowed` is a comma list of statuses it may move from ('' = any). Returns the previous status, or
-- false if there is no such incident or the guard refused. Shared by set-status-2.lua and ingest's
-- intake script, so both index the same way.
local function set_status(K, id, status, entryJson, now, allowed)
  local state = key(K.incidentState, id)
  local previous = redis.call('HGET', state, 'status')
  if not previous then return false end
  if allowed ~= '' and not string.find(',' .. allowed .. ',', ',' .. previous .. ',', 1, true) then return false end
  if previous == status then return previous end
  local created = redis.call('HGET', state, 'createdMs')
  redis.call('ZREM', key(K.statusIndex, previous), id)
  redis.call('ZADD', key(K.statusIndex, status), created, id)
  redis.call('HSET', state, 'status', status, 'updatedAt', now)
  redis.call('RPUSH', key(K.incidentTimeline, id), entryJson)
  return previous
end
