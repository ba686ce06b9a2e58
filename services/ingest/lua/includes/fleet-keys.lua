-- fleet_open_key(K, resource): keys.fleetOpen(resource), the resource encoded as encodeURIComponent
-- does (UTF-8 bytes as %XX, upper case; letters, digits and - _ . ! ~ * ' ( ) kept).
local function fleet_open_key(K, resource)
  local encoded = string.gsub(resource, "[^A-Za-z0-9%-_%.!~%*'%(%)]", function(c)
    return string.format('%%%02X', string.byte(c))
  end)
  return K.fleetOpen[1] .. encoded .. K.fleetOpen[2]
end
