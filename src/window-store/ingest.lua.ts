/**
 * One call per shard batch, atomic. KEYS: stream, open index, then for each window its
 * hash, its dedup root and its legacy dedup set. ARGV: grace ms, max lateness ms,
 * retention margin ms, window count, then per window: end ms, event count, and per event
 * 8 values (dedup member, tokens, input, output, latency or -1, endpoint, model or '',
 * the event as stream JSON).
 *
 * Dedup is exact and costs about 28 bytes of Redis per event (docs/consistency.md): each
 * member (src/window-store/dedup-member.ts: a 2-byte hash, then the packed eventId) goes
 * into one of the window's small hashes, which Redis keeps as listpacks (about 20 bytes
 * an entry, against about 80 for a member of a hashtable SET). The buckets grow by
 * linear hashing: with B buckets (round <= B < 2 * round, round a power of two) a hash
 * h lives in bucket h % round, or h % (2 * round) if that bucket was split this round;
 * each time the members exceed T * B, bucket B - round is split into itself and bucket
 * B. A split moves about half a bucket once per T inserts, and
 * buckets hold T to 2T members on average, under hash-max-listpack-entries' default of
 * 128. A check is HSETNX: it adds the member if new and says whether it was. B follows
 * from the member count, which the root (bucket 0) keeps in the field '' (members have 3
 * bytes or more, so fields of fewer are free for the engine). The window's legacy SET is
 * asked too if it existed when the root was created (the root's field 'L' says so).
 *
 * The events that prove new are summed in Lua so each window hash gets one set of
 * HINCRBYs per batch, and the whole batch is one XADD. Time comes from Redis so every
 * instance judges lateness by the same clock. Events past max lateness skip Redis
 * counting and only go to the stream: Postgres owns their window (the persistence
 * worker asks for a recompute).
 *
 * Redis does not roll a script back: a command that fails halfway leaves the writes
 * before it. So a first pass reads every argument before the first write — numbers
 * that are whole and within range (counts >= 0, latency >= -1, sums a double holds
 * exactly), members of at least 3 bytes, ids and JSON non-empty, the counts of keys and
 * arguments as the window count says — and answers TALLY_BADARG, having written
 * nothing, if one is not. Returns one outcome per event, in order (see IngestOutcome).
 */
export const INGEST_LUA = `
local MAXINT = 9007199254740991
local function bad(what)
  return redis.error_reply('TALLY_BADARG ' .. what .. '; nothing was written')
end
local function whole(v, min)
  local n = tonumber(v)
  if n == nil or n % 1 ~= 0 or n < min or n > MAXINT then return nil end
  return n
end
local grace = tonumber(ARGV[1])
local maxLate = whole(ARGV[2], 0)
local margin = whole(ARGV[3], 0)
local nw = whole(ARGV[4], 0)
if grace == nil or not (grace >= 0 and grace <= MAXINT) or maxLate == nil or margin == nil
    or nw == nil then
  return bad('settings')
end
if #KEYS ~= 2 + 3 * nw then return bad('key count') end
local a = 5
for w = 1, nw do
  local n = whole(ARGV[a + 1], 1)
  if whole(ARGV[a], -MAXINT) == nil or n == nil then return bad('window ' .. w) end
  a = a + 2
  -- Inlined, not whole(): this runs per event. x % 1 is NaN for NaN and infinities, so
  -- ~= 0 refuses them with fractions; sums of non-negative values bound each one.
  local tokens, tin, tout, lat = 0, 0, 0, 0
  for i = 1, n do
    local tk, ti, to, l = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]),
      tonumber(ARGV[a + 4])
    if not (tk and ti and to and l and ARGV[a + 7]) or #ARGV[a] < 3 or ARGV[a + 5] == ''
        or ARGV[a + 7] == '' or tk % 1 ~= 0 or ti % 1 ~= 0 or to % 1 ~= 0 or l % 1 ~= 0
        or tk < 0 or ti < 0 or to < 0 or l < -1 then
      return bad('event ' .. i .. ' of window ' .. w)
    end
    tokens, tin, tout = tokens + tk, tin + ti, tout + to
    if l > 0 then lat = lat + l end
    a = a + 8
  end
  if tokens > MAXINT or tin > MAXINT or tout > MAXINT or lat > MAXINT then
    return bad('sums of window ' .. w)
  end
end
if a - 1 ~= #ARGV then return bad('argument count') end

local T, MAXB = 40, 65536
local function bucket(root, i)
  if i == 0 then return root end
  return root .. ':' .. i
end
local function hashOf(member)
  return string.byte(member, 1) * 256 + string.byte(member, 2)
end
-- Splits bucket nb - round into itself and bucket nb, by hash % (2 * round). Every bucket
-- but the root is created here and given its expiry here; a bucket left without
-- members keeps the placeholder field '' so that it never loses that expiry.
local function split(root, nb, round, expireAt)
  local from, to = bucket(root, nb - round), bucket(root, nb)
  local moving, fields, kept = {}, {}, 0
  for _, f in ipairs(redis.call('HKEYS', from)) do
    -- Fields of under 3 bytes are the root's count and legacy mark, or a placeholder.
    if #f >= 3 then
      if hashOf(f) % (2 * round) == nb then
        moving[#moving + 1] = f
        fields[#fields + 1] = f
        fields[#fields + 1] = ''
      else
        kept = kept + 1
      end
    end
  end
  if #moving == 0 then fields = {'', ''} end
  redis.call('HSET', to, unpack(fields))
  redis.call('PEXPIREAT', to, expireAt)
  if kept == 0 and from ~= root then redis.call('HSET', from, '', '') end
  if #moving > 0 then redis.call('HDEL', from, unpack(moving)) end
end
-- The eventId a member packs (dedup-member.ts), as the legacy SET held it.
local function unpacked(m)
  if #m == 18 then
    return string.format('%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x',
      string.byte(m, 3, 18))
  elseif #m > 18 then
    return string.sub(m, 3, -2)
  end
  return string.sub(m, 3)
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
a = 5
local out = {}
local fresh = {}
for w = 1, nw do
  local hkey, dkey, okey = KEYS[3 * w], KEYS[3 * w + 1], KEYS[3 * w + 2]
  local wend = tonumber(ARGV[a])
  local n = tonumber(ARGV[a + 1])
  a = a + 2
  if now > wend + maxLate then
    for i = 1, n do
      fresh[#fresh + 1] = ARGV[a + 7]
      out[#out + 1] = 2
      a = a + 8
    end
  else
    local calls, tokens, tin, tout, lat, latn = 0, 0, 0, 0, 0, 0
    local ep, md = {}, {}
    local expireAt = wend + maxLate + margin
    local state = redis.call('HMGET', dkey, '', 'L')
    local members = tonumber(state[1]) or 0
    local legacy = state[2] ~= false
    if members == 0 then legacy = redis.call('EXISTS', okey) == 1 end
    local marksLegacy = members == 0 and legacy
    local nb = math.min(MAXB, math.max(1, math.ceil(members / T)))
    local round = 1
    while round * 2 <= nb do round = round * 2 end
    for i = 1, n do
      local member = ARGV[a]
      local h = hashOf(member)
      local b = h % round
      if b < nb - round then b = h % (2 * round) end
      local seen = legacy and redis.call('SISMEMBER', okey, unpacked(member)) == 1
      if not seen then seen = redis.call('HSETNX', bucket(dkey, b), member, '') == 0 end
      if not seen then
        members = members + 1
        if members > T * nb and nb < MAXB then
          split(dkey, nb, round, expireAt)
          nb = nb + 1
          if nb == 2 * round then round = 2 * round end
        end
        local tk = tonumber(ARGV[a + 1])
        calls = calls + 1
        tokens = tokens + tk
        tin = tin + tonumber(ARGV[a + 2])
        tout = tout + tonumber(ARGV[a + 3])
        local l = tonumber(ARGV[a + 4])
        if l >= 0 then lat = lat + l; latn = latn + 1 end
        local e = ep[ARGV[a + 5]]
        if e == nil then e = {0, 0}; ep[ARGV[a + 5]] = e end
        e[1] = e[1] + 1; e[2] = e[2] + tk
        if ARGV[a + 6] ~= '' then
          local m = md[ARGV[a + 6]]
          if m == nil then m = {0, 0}; md[ARGV[a + 6]] = m end
          m[1] = m[1] + 1; m[2] = m[2] + tk
        end
        fresh[#fresh + 1] = ARGV[a + 7]
        if now > wend + grace then out[#out + 1] = 3 else out[#out + 1] = 1 end
      else
        out[#out + 1] = 0
      end
      a = a + 8
    end
    if calls > 0 then
      redis.call('HINCRBY', dkey, '', calls)
      if marksLegacy then redis.call('HSET', dkey, 'L', '1') end
      redis.call('PEXPIREAT', dkey, expireAt)
      redis.call('HINCRBY', hkey, 'calls', calls)
      redis.call('HINCRBY', hkey, 'tokens', tokens)
      redis.call('HINCRBY', hkey, 'in', tin)
      redis.call('HINCRBY', hkey, 'out', tout)
      if latn > 0 then
        redis.call('HINCRBY', hkey, 'lat', lat)
        redis.call('HINCRBY', hkey, 'latn', latn)
      end
      for k, v in pairs(ep) do
        redis.call('HINCRBY', hkey, 'ec:' .. k, v[1])
        redis.call('HINCRBY', hkey, 'et:' .. k, v[2])
      end
      for k, v in pairs(md) do
        redis.call('HINCRBY', hkey, 'mc:' .. k, v[1])
        redis.call('HINCRBY', hkey, 'mt:' .. k, v[2])
      end
      if now > wend + grace then redis.call('HINCRBY', hkey, 'late', calls) end
      redis.call('HINCRBY', hkey, 'rev', 1)
      redis.call('PEXPIREAT', hkey, expireAt)
      redis.call('ZADD', KEYS[2], wend, hkey)
    end
  end
end
if #fresh > 0 then
  redis.call('XADD', KEYS[1], '*', 'e', '[' .. table.concat(fresh, ',') .. ']')
end
return out
`;
