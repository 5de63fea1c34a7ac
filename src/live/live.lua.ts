/**
 * Begins a history that does not exist (never written, expired after a long silence, or
 * lost with Redis's data) with an entry deleted at once: XDEL records its id as
 * `max-deleted-entry-id`, so a resume from any earlier position is a gap, whichever script
 * begins the history first (an append, a new stream's or a heartbeat's touch) and however
 * late an instance's catch-up reads it. (XADD with MAXLEN 0 leaves that id at 0-0 on Redis 7.0,
 * which hid a loss from a catch-up that came after a touch.) KEYS[1]: history.
 */
const BEGIN_HISTORY = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XDEL', KEYS[1], redis.call('XADD', KEYS[1], '*', 'e', ''))
end
`;

/**
 * Appends a tenant's events to its history and publishes them, with their ids, in one
 * atomic step: the channel's order is the history's order, and no event is published
 * that a resume could not find. KEYS[1]: history. ARGV: channel, max entries, retention
 * ms, key TTL ms, then one envelope JSON (without id, starting `{"type"`) per event.
 *
 * The oldest entries beyond the count or older than the retention (Redis time) are
 * removed with XDEL, not XTRIM: XDEL records the newest id it removed
 * (`max-deleted-entry-id`), which is exactly how far back the history still reaches, so
 * a resume can tell a gap from a quiet spell. At most 1,000 go per call; the rest go
 * with the next appends. Returns the new ids.
 */
export const APPEND_LUA = `${BEGIN_HISTORY}
local ids = {}
local parts = {}
for i = 5, #ARGV do
  local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
  ids[#ids + 1] = id
  parts[#parts + 1] = '{"id":"' .. id .. '",' .. string.sub(ARGV[i], 2)
end
local t = redis.call('TIME')
local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[3])
local doomed = redis.call('XRANGE', KEYS[1], '-', '(' .. cutoff .. '-0', 'COUNT', 1000)
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
if #doomed < excess then
  doomed = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', math.min(excess, 1000))
end
if #doomed > 0 then
  local old = {}
  for i = 1, #doomed do old[i] = doomed[i][1] end
  redis.call('XDEL', KEYS[1], unpack(old))
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[1], '[' .. table.concat(parts, ',') .. ']')
return ids
`;

/**
 * Makes sure the tenant's history exists (an empty one when nothing was ever appended, so
 * that it has a last id to hand out) and extends its life. KEYS[1]: history. ARGV: TTL
 * ms. Returns the last id the history ever generated: where a new stream starts.
 */
export const TOUCH_HISTORY_LUA = `${BEGIN_HISTORY}
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return info[i + 1] end
end
return '0-0'
`;

/**
 * Takes a lease on one of the tenant's stream slots, across instances, unless all are
 * taken. KEYS[1]: the tenant's streams set. ARGV: now ms, lease expiry ms, cap, member,
 * set TTL ms. Leases of instances that died expire with their score. Returns 1 or 0.
 */
export const TAKE_SLOT_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;
