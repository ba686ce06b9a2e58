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
  ARGV[5] '1': a decision that may be recorded again (a crashed recording redone): when the action's
          record has this decision already, nothing is written; '' records it whatever it has

  Returns 1 when recorded (or recorded already), 0 when there is no such incident.
]]
if redis.call('HEXISTS', KEYS[3], 'status') == 0 then return 0 end
if ARGV[5] == '1' then
  local earlier = redis.call('HGET', KEYS[1], ARGV[1])
  if earlier and cjson.decode(earlier).decision == cjson.decode(ARGV[2]).decision then return 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[3], 'updatedAt', ARGV[4])
return 1
