--[[
  Records an executor's decision on its incident (IncidentStore.recordDecision), only while the
  incident exists: the action's record, set or updated, and its timeline entry, in one step. An
  incident exists once ingest opened it with its status; nothing writes a status to one that does not
  (and the executor may only read the incident hash itself, which a script cannot declare).

  KEYS[1] the incident's action records (a hash: action id -> record)
  KEYS[2] its timeline (a list)
  KEYS[3] its state hash (status; updatedAt)

  ARGV[1] the action id
  ARGV[2] its record (JSON)
  ARGV[3] the timeline entry (JSON)
  ARGV[4] now (ISO)

  Returns 1 when recorded, 0 when there is no such incident.
]]
if redis.call('HEXISTS', KEYS[3], 'status') == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[3], 'updatedAt', ARGV[4])
return 1
