--[[
  Releases a lock only if its holder still holds it (a holder that outlived the lock's TTL must not
  release the next holder's).

  KEYS[1] the lock

  ARGV[1] the holder

  Returns 1 if it released the lock, else 0.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
