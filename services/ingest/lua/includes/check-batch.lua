-- The batch's records, decoded and checked before the script's first write: a batch that cannot be
-- stored whole leaves nothing behind (no empty incident, no backlog entry, no storm count).
-- Returns them as tables { fp, startsAt, startsAtMs, status, ck, ckText, level, severity, priority,
-- index, alert }.
local FIELDS = { 'fp', 'startsAt', 'startsAtMs', 'status', 'ck', 'ckText', 'level', 'severity', 'priority' }

local function check_batch(recordsJson, firstAlert)
  local records = cjson.decode(recordsJson)
  for index, rec in ipairs(records) do
    local a = { index = index }
    for field, name in ipairs(FIELDS) do
      local value = rec[field]
      if type(value) ~= 'string' and type(value) ~= 'number' then
        error('record ' .. index .. ': field ' .. field .. ' is not a string or number')
      end
      a[name] = value
    end
    local alert = ARGV[firstAlert + index - 1]
    if type(alert) ~= 'string' then error('record ' .. index .. ': its stored alert is missing') end
    -- JSON.stringify escapes only lone surrogates (\udXXX), the one thing cjson cannot decode:
    -- only such alerts are decoded here, so the check costs nothing for the others.
    if string.find(alert, '\\u[dD][89a-fA-F]') then cjson.decode(alert) end
    a.alert = alert
    records[index] = a
  end
  return records
end
