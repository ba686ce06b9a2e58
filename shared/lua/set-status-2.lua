--[[
  Moves an incident to a status (IncidentStore.setStatus), with its notice recorded in the caller's
  outbox in the same script if the status changed.

  KEYS[1] the incident's state hash (routes the script to its cluster slot)
  KEYS[2] the caller's outbox hash (KEYS[1] again when there is no notice)

  ARGV[1] the key layout (JSON, shared/keys.ts scriptKeyLayout)
  ARGV[2] incident id
  ARGV[3] status
  ARGV[4] timeline entry (JSON)
  ARGV[5] now (ISO)
  ARGV[6] statuses it may move from, comma-separated ('' = any)
  ARGV[7] summary ('' = keep)
  ARGV[8] the notice's event id ('' = none)
  ARGV[9] the notice's outbox entry

  Returns the previous status, or false (no such incident, or the guard refused).
]]
--- @include "set-status"

local previous = set_status(cjson.decode(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
if previous and ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'summary', ARGV[7]) end
if previous and previous ~= ARGV[3] and ARGV[8] ~= '' then redis.call('HSET', KEYS[2], ARGV[8], ARGV[9]) end
return previous
