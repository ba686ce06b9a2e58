--[[
  Checks every rolling window and, only when all have room, records the action in each: one script, so
  concurrent executors can never overshoot a limit. Given an incident's gate keys after the windows, it
  then makes the last check before the action runs (includes/enter-run.lua) in the same step: one round
  trip, and nothing a human does can land between the two.

  KEYS[1..n]      one sorted set per window (n = ARGV[3])
  KEYS[n+1..n+3]  optional: the incident's state hash, its current round, the approved changes that ran

  ARGV[1] now (ms)
  ARGV[2] member (the action)
  ARGV[3] n, the number of windows
  ARGV[2 + 2i], ARGV[3 + 2i] window i's max and length (ms)
  ARGV[4 + 2n], ARGV[5 + 2n], ARGV[6 + 2n] with the gate: who asks ('agent' or 'human'), the change
          ('' = no round claim), how long the round's claims are kept (seconds)

  Returns {index of the full window (1-based), its count}, or when taken {0, 0} followed, with the gate,
  by its verdict: {0, 0, 'ok'}, {0, 0, 'closed', status}, {0, 0, 'owned', by, at} or {0, 0, 'ran', id}.
]]
--- @include "enter-run"
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
for i = 1, n do
  local max = tonumber(ARGV[2 + i * 2])
  local window = tonumber(ARGV[3 + i * 2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= max then return {i, count} end
end
for i = 1, n do
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3 + i * 2]))
end
if #KEYS == n then return {0, 0} end
local gate = 4 + 2 * n
return {0, 0, unpack(enter_run(KEYS[n + 1], KEYS[n + 2], KEYS[n + 3], ARGV[gate], ARGV[gate + 1], ARGV[2], ARGV[gate + 2]))}
