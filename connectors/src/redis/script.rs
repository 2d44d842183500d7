//! The Lua scripts that make the Redis projection safe: each compares versions and writes and
//! publishes in one atomic step inside Redis, so no client (a restarted job, a stale replica of
//! a batch) can replace a value with older data.
//!
//! - [`VALUE`]: `KEYS = [value, guard]`, `ARGV = [version, "set"|"del", json, ttl_s, channel]`.
//!   Refuses a version below the guard's; a set or delete that changes nothing (re-delivery)
//!   is a no-op; otherwise writes the value (with TTL when > 0), stores the version in the
//!   guard key (never expiring, so the guard survives the value's expiry) and publishes
//!   `{"key","op","version","value"}` on the channel. Returns 1 when applied, 0 otherwise.
//! - [`CURVE`]: `KEYS = [snapshot, points hash, point versions hash]`,
//!   `ARGV = [ttl_s, channel, snapshot head, (field, "set"|"del", version|"", json)…]`. Applies
//!   each point operation whose version (when it has one and the point holds one) is not below
//!   the stored one, then rebuilds the snapshot from the points hash (fields sorted: delivery
//!   start, tenor), sets it (or deletes it when no point is left) and publishes it. Returns 1
//!   when the snapshot changed.
//!
//! Scripts are loaded once per connection (`SCRIPT LOAD`) and invoked with `EVALSHA`; the sink
//! reloads them when the server answers `NOSCRIPT` (script cache flushed).

/// Version-guarded set/delete of one served value.
pub const VALUE: &str = r#"
local cur = redis.call('GET', KEYS[2])
if cur and ARGV[1] < cur then return 0 end
local msg = '{"key":' .. cjson.encode(KEYS[1]) .. ',"op":"' .. ARGV[2] .. '","version":"' .. ARGV[1] .. '","value":'
if ARGV[2] == 'set' then
  if cur == ARGV[1] and redis.call('GET', KEYS[1]) == ARGV[3] then return 0 end
  local ttl = tonumber(ARGV[4])
  if ttl > 0 then
    redis.call('SET', KEYS[1], ARGV[3], 'EX', ttl)
  else
    redis.call('SET', KEYS[1], ARGV[3])
  end
  redis.call('SET', KEYS[2], ARGV[1])
  redis.call('PUBLISH', ARGV[5], msg .. ARGV[3] .. '}')
  return 1
end
if cur == ARGV[1] and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[5], msg .. 'null}')
return 1
"#;

/// Point-wise update of a curve snapshot.
pub const CURVE: &str = r#"
local changed = false
for i = 4, #ARGV, 4 do
  local f, op, ver, json = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local cur = redis.call('HGET', KEYS[3], f)
  if not (ver ~= '' and cur and ver < cur) then
    if op == 'set' then
      if redis.call('HGET', KEYS[2], f) ~= json then
        redis.call('HSET', KEYS[2], f, json)
        changed = true
      end
      if ver ~= '' then
        redis.call('HSET', KEYS[3], f, ver)
      else
        redis.call('HDEL', KEYS[3], f)
      end
    else
      if redis.call('HDEL', KEYS[2], f) == 1 then changed = true end
      redis.call('HDEL', KEYS[3], f)
    end
  end
end
local exists = redis.call('EXISTS', KEYS[1]) == 1
if not changed and exists then return 0 end
local fields = redis.call('HKEYS', KEYS[2])
local msg = '{"key":' .. cjson.encode(KEYS[1]) .. ',"op":'
if #fields == 0 then
  if not exists then return 0 end
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], msg .. '"del","value":null}')
  return 1
end
table.sort(fields)
local points = {}
for i, f in ipairs(fields) do points[i] = redis.call('HGET', KEYS[2], f) end
local snap = ARGV[3] .. table.concat(points, ',') .. ']}'
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('SET', KEYS[1], snap, 'EX', ttl)
else
  redis.call('SET', KEYS[1], snap)
end
redis.call('PUBLISH', ARGV[2], msg .. '"set","value":' .. snap .. '}')
return 1
"#;

/// The SHA1 digest `EVALSHA` names a script by.
pub fn sha(script: &str) -> String {
    redis::Script::new(script).get_hash().to_string()
}

/// Loads both scripts into the server's script cache.
pub fn load(con: &mut redis::Connection) -> redis::RedisResult<()> {
    for s in [VALUE, CURVE] {
        let _: String = redis::cmd("SCRIPT").arg("LOAD").arg(s).query(con)?;
    }
    Ok(())
}

/// The guard key of a served value key.
pub fn guard_key(value_key: &str) -> String {
    format!("{value_key}:version")
}

/// The points hash of a curve snapshot key.
pub fn points_key(snapshot_key: &str) -> String {
    format!("{snapshot_key}:points")
}

/// The point versions hash of a curve snapshot key.
pub fn point_versions_key(snapshot_key: &str) -> String {
    format!("{snapshot_key}:point_versions")
}
