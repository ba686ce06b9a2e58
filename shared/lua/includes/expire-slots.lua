-- Slots whose lease ended are free: their executor died, or their verdict never came.
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('ZREM', KEYS[1], gone)
  redis.call('HDEL', KEYS[2], gone, gone .. '|a')
  redis.call('HDEL', KEYS[5], gone)
end
