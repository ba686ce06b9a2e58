-- Whether a record's alert is one an incident already holds: the same fingerprint (the alerts hash
-- field) with the same startsAt is the same episode. Stored alerts carry their startsAt in epoch ms
-- (ingest computes it), so no time is parsed here.

-- A stored alert's status, startsAt and startsAt in ms (nil where unknown). Alerts stored before they
-- were arrays are timeline entries.
local function held(value)
  local v = cjson.decode(value)
  if v[1] ~= nil then return v[1], v[3], v[8] end
  return v.status, v.startsAt, nil
end

-- Whether a value of an incident's alerts hash is a firing alert.
local function stored_firing(value)
  return value and held(value) == 'firing' or false
end

local function same_episode(value, a)
  local _, startsAt = held(value)
  return startsAt == a.startsAt
end

-- Whether the record's alert began before the stored one: a late re-send of an earlier episode.
-- A stored episode that starts in the future (a sender's clock running ahead) is no later episode:
-- otherwise it would swallow every genuine new episode until the dedup TTL ran out.
local SKEW_MS = 300000
local function earlier_episode(value, a)
  local _, _, heldStarted = held(value)
  local started = tonumber(a.startsAtMs)
  heldStarted = tonumber(heldStarted)
  return started ~= nil and heldStarted ~= nil and started < heldStarted and heldStarted <= B.nowMs + SKEW_MS
end
