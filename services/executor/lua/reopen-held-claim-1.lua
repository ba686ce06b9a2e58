--[[
  Reopens the claim of a held change so it can be decided again, once it owns a budget slot: only a
  claim whose recorded decision is `held` (a done or running one is never reopened).

  KEYS[1] the action's claim

  Returns 1 when reopened, 0 otherwise.
]]
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local claim = cjson.decode(raw)
if claim.state ~= 'done' or claim.outcome.decision ~= 'held' then return 0 end
redis.call('DEL', KEYS[1])
return 1
