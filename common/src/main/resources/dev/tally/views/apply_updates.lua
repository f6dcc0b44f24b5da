-- Applies a batch of view updates atomically. One call per batch (per cluster slot in cluster
-- mode), never one per update. See docs/views.md for the key layout and value encoding.
--
-- KEYS: for update i, KEYS[3i-2] is the entry hash, KEYS[3i-1] the sorted set it ranks in and
--       KEYS[3i] that set's cached rendering, which a change invalidates (both the entry key
--       again when it ranks nowhere). All keys of one call share a hash tag.
-- ARGV[1]: the invalidation channel. ARGV[2]: the generation the keys are of, to announce changes
--   only while readers are served it (tally:generation, absent = 1) or a tool listens to it
--   (tally:announce:g<gen> exists, e.g. a cutover comparing it); "" to announce always (a cluster,
--   where those keys live in other slots). Then, update after update:
--   writer    who wrote this partial (a job and its lane): partials of different writers merge
--   version   this writer's version of the entry: applied only when greater than the stored one
--   rank      "field|member" to rank the merged entry in its sorted set by field, or ""
--   n         how many fields follow, then n triples: op (sum|max|min), field, integer value —
--             the writer's whole partial value, not a delta
-- Returns {applied, changed}: updates that were newer, and entries whose served value changed.
--
-- Entry hash: served fields, "_v" (sum of the writers' versions), "_w:<writer>" (the writer's
-- version) and "_w:<writer>:<field>" (its partial). Served fields are merged incrementally:
-- replacing a writer's partial adds the difference to a sum and raises a max (lowers a min),
-- exact because a writer's max only grows and its min only shrinks from version to version.
--
-- Values are int64 end to end (docs/views.md). Lua numbers are doubles, exact only below 2^53, so
-- values of up to 15 characters (|x| < 10^15) take the number path and longer ones are added and
-- compared as decimal digit strings: no served value ever passes through a rounded double. (A
-- ranking's score is a sorted-set score, a double: exact below 2^53, ties beyond.)

-- Decimal integers as text: optional '-', digits without leading zeros ("0" for zero).
local function sign_digits(x)
  if string.sub(x, 1, 1) == '-' then return -1, string.sub(x, 2) end
  return 1, x
end

-- Compares two digit strings without leading zeros: -1, 0 or 1.
local function compare_digits(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end

local function add_digits(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry + (i > 0 and string.byte(a, i) - 48 or 0) + (j > 0 and string.byte(b, j) - 48 or 0)
    out[#out + 1] = d % 10
    carry = d >= 10 and 1 or 0
    i, j = i - 1, j - 1
  end
  return string.reverse(table.concat(out))
end

-- a - b for digit strings with a >= b.
local function subtract_digits(a, b)
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local d = string.byte(a, i) - 48 - borrow - (j > 0 and string.byte(b, j) - 48 or 0)
    borrow = d < 0 and 1 or 0
    out[#out + 1] = d + 10 * borrow
    i, j = i - 1, j - 1
  end
  local text = string.gsub(string.reverse(table.concat(out)), '^0+', '')
  return text == '' and '0' or text
end

local function add_text(x, y)
  local sx, dx = sign_digits(x)
  local sy, dy = sign_digits(y)
  local s, d
  if sx == sy then
    s, d = sx, add_digits(dx, dy)
  else
    local c = compare_digits(dx, dy)
    if c == 0 then return '0' end
    if c > 0 then s, d = sx, subtract_digits(dx, dy) else s, d = sy, subtract_digits(dy, dx) end
  end
  return (s < 0 and '-' or '') .. d
end

local function negate_text(x)
  if x == '0' then return x end
  if string.sub(x, 1, 1) == '-' then return string.sub(x, 2) end
  return '-' .. x
end

local function compare_text(x, y)
  local sx, dx = sign_digits(x)
  local sy, dy = sign_digits(y)
  if sx ~= sy then return sx < sy and -1 or 1 end
  return sx * compare_digits(dx, dy)
end

-- current - mine + value, exactly.
local function replace_in_sum(current, mine, value)
  if #current <= 15 and #mine <= 15 and #value <= 15 then
    return string.format('%.0f', tonumber(current) - tonumber(mine) + tonumber(value))
  end
  return add_text(add_text(current, negate_text(mine)), value)
end

-- The greater (op 'max') or smaller (op 'min') of two values, exactly.
local function pick(op, current, value)
  local c
  if #current <= 15 and #value <= 15 then
    local a, b = tonumber(current), tonumber(value)
    c = a < b and -1 or (a > b and 1 or 0)
  else
    c = compare_text(current, value)
  end
  if op == 'max' then return c >= 0 and current or value end
  return c <= 0 and current or value
end

local channel = ARGV[1]
local announce = true
if ARGV[2] ~= '' then
  announce = (redis.call('GET', 'tally:generation') or '1') == ARGV[2]
    or redis.call('EXISTS', 'tally:announce:g' .. ARGV[2]) == 1
end
local applied = 0
local changed = {}
-- Rankings whose cached rendering this call already deleted: once per call is enough (the call is
-- atomic), and a batch holds many entries of the same hot ranking.
local invalidated = {}
local a = 3

for i = 1, #KEYS / 3 do
  local entry = KEYS[3 * i - 2]
  local writer = '_w:' .. ARGV[a]
  local version = tonumber(ARGV[a + 1])
  local rank = ARGV[a + 2]
  local n = tonumber(ARGV[a + 3])
  local first = a + 4

  local names = {writer, '_v'}
  for j = 0, n - 1 do names[3 + j] = writer .. ':' .. ARGV[first + 3 * j + 1] end
  for j = 0, n - 1 do names[3 + n + j] = ARGV[first + 3 * j + 1] end
  local got = redis.call('HMGET', entry, unpack(names))
  local stored = tonumber(got[1] or '-1')

  if version > stored then
    applied = applied + 1
    local servedVersion = tonumber(got[2] or '0') + version - math.max(stored, 0)
    local updates = {writer, version, '_v', string.format('%.0f', servedVersion)}
    local merged = {}
    local differs = false
    for j = 0, n - 1 do
      local op = ARGV[first + 3 * j]
      local field = ARGV[first + 3 * j + 1]
      local text = ARGV[first + 3 * j + 2]
      local current = got[3 + n + j]
      local served
      if not current then
        served = text
      elseif op == 'sum' then
        served = replace_in_sum(current, got[3 + j] or '0', text)
      else
        served = pick(op, current, text)
      end
      merged[field] = served
      if current ~= served then differs = true end
      updates[#updates + 1] = writer .. ':' .. field
      updates[#updates + 1] = text
      updates[#updates + 1] = field
      updates[#updates + 1] = served
    end
    redis.call('HSET', entry, unpack(updates))

    if rank ~= '' then
      local rankField, member = string.match(rank, '^([^|]+)|(.*)$')
      redis.call('ZADD', KEYS[3 * i - 1], merged[rankField], member)
    end
    if differs then
      changed[#changed + 1] = entry
      -- What depends on the entry: a cached rendering of its ranking (e.g. a top-N page).
      local cache = KEYS[3 * i]
      if rank ~= '' and not invalidated[cache] then
        redis.call('DEL', cache)
        invalidated[cache] = true
      end
    end
  end
  a = first + 3 * n
end

if #changed > 0 and announce then
  redis.call('PUBLISH', channel, table.concat(changed, '\n'))
end
return {applied, #changed}
