--[[
  Moves a held change that will never run, with why, into the changes dropped and not yet recorded
  (HeldChanges records each, then removes it; its sweep records those a dead executor left), in the
  same script that removed it from the held ones: a crash in between loses no cancellation.

  key   the dropped changes not yet recorded (hash: action id -> JSON { because, at, by?, first?, change })
  id    the action id
  raw   its held record (JSON, as kept: cjson would turn an empty array in its args into {})
  now   when it was dropped (ms)
  why   { because = 'held_too_long' | 'first_region' | 'fleet_closed' | 'fleet_cancelled', by?, first? }

  Returns the entry (JSON).
]]
local function drop_held(key, id, raw, now, why)
  why.at = now
  local entry = string.sub(cjson.encode(why), 1, -2) .. ',"change":' .. raw .. '}'
  redis.call('HSET', key, id, entry)
  return entry
end
