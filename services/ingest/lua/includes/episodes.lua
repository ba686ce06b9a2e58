-- Whether a record's alert is one an incident already holds: the same fingerprint (the alerts hash
-- field) with the same startsAt is the same episode. Each stored alert's startsAt in epoch ms is
-- kept beside it (the incident's starts hash, written with the alerts hash), so no time is parsed here.

-- A stored alert's status and startsAt (alerts stored before they were arrays are timeline entries).
local function held(value)
  local v = cjson.decode(value)
  if v[1] ~= nil then return v[1], v[3] end
  return v.status, v.startsAt
end

-- Whether a value of an incident's alerts hash is a firing alert.
local function stored_firing(value)
  return value and held(value) == 'firing' or false
end

local function same_episode(value, a)
  local _, startsAt = held(value)
  return startsAt == a.startsAt
end

-- The startsAt (epoch ms, nil if unknown) of the alert an incident holds for a fingerprint.
local function held_start(id, fp)
  return tonumber(held_field(B.startsOf, B.K.incidentStarts, id, fp))
end

-- Whether the record's alert began before the one its incident holds: a late re-send of an earlier
-- episode. A held episode that starts in the future (a sender's clock running ahead) is no later
-- episode: otherwise it would swallow every genuine new episode until the dedup TTL ran out.
local SKEW_MS = 300000
local function earlier_episode(id, a)
  local started, heldStarted = tonumber(a.startsAtMs), held_start(id, a.fp)
  return started ~= nil and heldStarted ~= nil and started < heldStarted and heldStarted <= B.nowMs + SKEW_MS
end

-- Records that the incident now holds the record's alert (written by the caller or at flush).
local function hold(id, a)
  stored(id, a.fp)
  held_start(id, a.fp)
  B.storedOf[id][a.fp] = a.alert
  B.startsOf[id][a.fp] = a.startsAtMs
end
