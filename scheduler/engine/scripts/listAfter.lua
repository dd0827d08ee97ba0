--[[
  listAfter (read only): up to `count` members of a sorted set that come after the position
  (score, member), in the set's order (score, then member bytes), with their scores. Keyset
  paging: the position stays valid when members before or after it come and go, also when the
  member at the position itself has left, so a lister neither skips nor repeats a member that
  stayed. Finding the position costs two ZCOUNTs and a binary search over the members that share
  its score (log2 of their number ZRANGE calls).

  KEYS[1] sorted set
  ARGV[1] score of the position ("" = from the start)  ARGV[2] member of the position
  ARGV[3] count (1..1000)

  Returns member, score, member, score, ...
]]

-- a < b comparing bytes (Lua's own < follows the server's locale, Redis compares bytes).
local function before(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local key, count = KEYS[1], tonumber(ARGV[3])
local start = 0
if ARGV[1] ~= '' then
  local score, member = ARGV[1], ARGV[2]
  local lo = redis.call('ZCOUNT', key, '-inf', '(' .. score)
  local hi = lo + redis.call('ZCOUNT', key, score, score)
  -- The first rank in [lo, hi) whose member comes after `member`.
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local at = redis.call('ZRANGE', key, mid, mid)[1]
    if before(member, at) then hi = mid else lo = mid + 1 end
  end
  start = lo
end
return redis.call('ZRANGE', key, start, start + count - 1, 'WITHSCORES')
