--[[
  The last check before an action runs, in one step with what it reads: the incident's status and
  owner as they are now (a human's resolve or acknowledge that landed since the decision began is
  seen), and for a human-approved change, its claim on the incident's current round, so a second
  approval of the same change in one round does not run it again.

  KEYS[1] the incident's state hash
  KEYS[2] the incident's current round (a string; absent = the first round)
  KEYS[3] the approved changes that ran, per round (a hash: "<round>|<change>" -> action id)

  ARGV[1] who asks: 'agent' or 'human'
  ARGV[2] the change (tool and what it acts on); '' = no round claim
  ARGV[3] the action id
  ARGV[4] how long the round's claims are kept (seconds)

  Returns {'ok'}, {'closed', status}, {'owned', by, at} (agent only) or {'ran', earlier action id}.
]]
local state = redis.call('HMGET', KEYS[1], 'status', 'acknowledgedBy', 'acknowledgedAt')
if state[1] == 'resolved' or state[1] == 'failed' then return {'closed', state[1]} end
if ARGV[1] == 'agent' and state[2] then return {'owned', state[2], state[3] or ''} end
if ARGV[2] == '' then return {'ok'} end
local field = (redis.call('GET', KEYS[2]) or 'first') .. '|' .. ARGV[2]
local earlier = redis.call('HGET', KEYS[3], field)
if earlier and earlier ~= ARGV[3] then return {'ran', earlier} end
redis.call('HSET', KEYS[3], field, ARGV[3])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
return {'ok'}
