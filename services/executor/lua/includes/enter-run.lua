--[[
  The last check before an action runs, in one step with what it reads: the incident's status and
  owner as they are now (a human's resolve or acknowledge that landed since the decision began is
  seen), and for a human-approved change, its claim on the incident's current round, so a second
  approval of the same change in one round does not run it again.

  state_key    the incident's state hash
  round_key    the incident's current round (a string; absent = the first round)
  changes_key  the approved changes that ran, per round (a hash: "<round>|<change>" -> action id)
  who          'agent' or 'human'
  change       the change (tool and what it acts on); '' = no round claim
  action_id    the action
  ttl          how long the round's claims are kept (seconds)

  Returns {'ok'}, {'closed', status}, {'owned', by, at} (agent only) or {'ran', earlier action id}.
]]
local function enter_run(state_key, round_key, changes_key, who, change, action_id, ttl)
  local state = redis.call('HMGET', state_key, 'status', 'acknowledgedBy', 'acknowledgedAt')
  if state[1] == 'resolved' or state[1] == 'failed' then return {'closed', state[1]} end
  if who == 'agent' and state[2] then return {'owned', state[2], state[3] or ''} end
  if change == '' then return {'ok'} end
  local field = (redis.call('GET', round_key) or 'first') .. '|' .. change
  local earlier = redis.call('HGET', changes_key, field)
  if earlier and earlier ~= action_id then return {'ran', earlier} end
  redis.call('HSET', changes_key, field, action_id)
  redis.call('EXPIRE', changes_key, tonumber(ttl))
  return {'ok'}
end
