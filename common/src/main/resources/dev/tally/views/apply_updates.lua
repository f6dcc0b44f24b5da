-- Applies a batch of view updates atomically. One call per batch (per cluster slot in cluster
-- mode), never one per update. See docs/views.md for the key layout and value encoding.
--
-- KEYS: for update i, KEYS[3i-2] is the entry hash, KEYS[3i-1] the sorted set it ranks in and
--       KEYS[3i] that set's cached rendering, which a change invalidates (both the entry key
--       again when it ranks nowhere). All keys of one call share a hash tag.
-- ARGV[1]: the invalidation channel. Then, update after update:
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

local channel = ARGV[1]
local applied = 0
local changed = {}
local a = 2

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
      local value = tonumber(text)
      local mine = tonumber(got[3 + j] or '0')
      local current = tonumber(got[3 + n + j])
      local result
      if current == nil then
        result = value
      elseif op == 'sum' then
        result = current - mine + value
      elseif op == 'max' then
        result = math.max(current, value)
      else
        result = math.min(current, value)
      end
      merged[field] = result
      local served = string.format('%.0f', result)
      if got[3 + n + j] ~= served then differs = true end
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
      if rank ~= '' then
        redis.call('DEL', KEYS[3 * i])
      end
    end
  end
  a = first + 3 * n
end

if #changed > 0 then
  redis.call('PUBLISH', channel, table.concat(changed, '\n'))
end
return {applied, #changed}
