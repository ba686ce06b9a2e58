--[[
  Appends an audit entry only if the chain head and counter are still the ones it was computed from
  (compare-and-set), so concurrent executors never fork the chain. Past `max` entries (plus 1 % slack,
  so trimming is occasional) the oldest are dropped down to `max`, and `seq:hash` of the last one
  dropped becomes the anchor the kept chain is verified from.

  KEYS[1] the audit stream
  KEYS[2] the chain head (hash of the newest entry)
  KEYS[3] the anchor (seq:hash of the newest entry trimmed away)
  KEYS[4] the entry counter
  KEYS[5] the entry's once-key: set when appended, and while it lasts the same entry is not appended
          again (a retried job's, a recording redone); unused when ARGV[7] is ''

  ARGV[1] the previous hash the entry was computed from
  ARGV[2] the entry (canonical JSON)
  ARGV[3] its hash
  ARGV[4] max entries kept
  ARGV[5] its sequence number
  ARGV[6] the genesis hash (the head of an empty chain)
  ARGV[7] how long the once-key lasts (seconds), or '' for an entry without one

  Returns the stream id, false if the head or counter moved (compute again and retry), or {'again',
  "<stream id> <seq> <hash>"} of the entry appended under the once-key already.
]]
local once = ARGV[7] ~= ''
if once then
  local earlier = redis.call('GET', KEYS[5])
  if earlier then return {'again', earlier} end
end
local head = redis.call('GET', KEYS[2]) or ARGV[6]
local count = tonumber(redis.call('GET', KEYS[4]) or '0')
if head ~= ARGV[1] or count + 1 ~= tonumber(ARGV[5]) then return false end
local id = redis.call('XADD', KEYS[1], '*', 'prev', ARGV[1], 'data', ARGV[2], 'hash', ARGV[3])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[4], ARGV[5])
if once then redis.call('SET', KEYS[5], id .. ' ' .. ARGV[5] .. ' ' .. ARGV[3], 'EX', tonumber(ARGV[7])) end
local max = tonumber(ARGV[4])
local excess = redis.call('XLEN', KEYS[1]) - max
if excess > math.floor(max / 100) then
  local dropped = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  local fields = dropped[#dropped][2]
  local dropped_seq = tonumber(ARGV[5]) - redis.call('XLEN', KEYS[1]) + excess
  for i = 1, #fields, 2 do
    if fields[i] == 'hash' then redis.call('SET', KEYS[3], dropped_seq .. ':' .. fields[i + 1]) end
  end
  redis.call('XTRIM', KEYS[1], 'MAXLEN', max)
end
return id
