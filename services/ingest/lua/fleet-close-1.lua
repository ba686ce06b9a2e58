--[[
  Closes a fleet incident a human resolved (its status is already `resolved`; shared/fleet.ts).

  KEYS[1] ingest's outbox
  ARGV[1] the key layout (JSON: shared/keys.ts scriptKeyLayout)
  ARGV[2] the fleet incident's id
  ARGV[3] who closed it
  ARGV[4] now (ISO)
  ARGV[5] now (ms)
  ARGV[6] the notice announcing a resolution, for incident '' (shared/notices.ts resolvedNotice)

  Returns 1 if the fleet was open and is closed now, else 0.
]]
--- @include "set-status"
--- @include "outbox-entry"
--- @include "fleet-keys"
--- @include "fleet-close"

local K = cjson.decode(ARGV[1])
return close_fleet(K, ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), KEYS[1], ARGV[6]) and 1 or 0
