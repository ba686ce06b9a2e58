-- Correlation groups: one hash per DEDUP_TTL_SECONDS period, correlation key → the group's latest
-- incident. A group is looked up in this period and the previous one (found only there, it is carried
-- forward), so it is remembered for one to two periods after its last alert. Its incident's alerts
-- hash then says whether an alert was seen before (same fingerprint and startsAt).

local periodMs = tonumber(B.dedupTtl) * 1000
local period = math.floor(B.nowMs / periodMs)
local groupsKey, previousGroupsKey = key(B.K.groups, period), key(B.K.groups, period - 1)
-- Correlation key → incident (false: unknown) for every record of the batch, kept up to date.
local groupOf = {}
-- What this batch writes to this period's groups, at the end.
local groupWrites = {}
local function set_group(ck, id)
  groupOf[ck] = id
  groupWrites[ck] = id
end

-- Reads the groups of correlation keys (distinct), carrying older ones forward.
local function read_groups(cks)
  local missing = {}
  for k, id in ipairs(hmget_in_slices(groupsKey, cks)) do
    groupOf[cks[k]] = id
    if not id then missing[#missing + 1] = cks[k] end
  end
  local older = {}
  for k, id in ipairs(hmget_in_slices(previousGroupsKey, missing)) do
    if id then set_group(missing[k], id) else older[#older + 1] = missing[k] end
  end
  -- Groups recorded before groups had periods (one corr:<key> string each) are carried forward too.
  local legacy = {}
  for k, ck in ipairs(older) do legacy[k] = key(B.K.legacyGroup, ck) end
  for k, id in ipairs(mget_in_slices(legacy)) do
    if id then set_group(older[k], id) end
  end
end

local function write_groups()
  local groups = {}
  for ck, id in pairs(groupWrites) do
    groups[#groups + 1], groups[#groups + 2] = ck, id
  end
  if #groups > 0 then
    call_in_slices('HSET', groupsKey, groups, 2)
    -- Kept through the next period, when this period's groups are still looked up.
    redis.call('PEXPIREAT', groupsKey, (period + 2) * periodMs)
  end
end
