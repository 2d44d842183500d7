//! What the Redis sink needs: the server URL (password never printed), an optional CA bundle
//! for `rediss://`, the key prefix and the TTL of served keys.

use std::fmt;
use std::path::PathBuf;

/// Settings of the Redis projection sink (from `[redis]` and `[projection]`).
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://[user][:password@]host[:port][/db]` or `rediss://…`.
    pub url: String,
    /// CA bundle (PEM) for `rediss://`; `None` = the bundled web roots.
    pub ca_path: Option<PathBuf>,
    /// Prepended to every key (`""` = the SPEC §6 names as they are).
    pub key_prefix: String,
    /// TTL of the served value keys in seconds; 0 = no expiry. Version guards never expire.
    pub ttl_seconds: u64,
    /// Timeout of connecting and of one round trip.
    pub timeout_ms: u64,
    /// A sink writes as soon as this many keys are pending, without waiting for a flush.
    pub batch_max_keys: usize,
    /// Least time between two hand-overs of latest prices and bars by [`crate::sink::Sink::ship`]
    /// (0 = at every call): updates of a key within it net to its last state.
    pub ship_interval_ms: u64,
}

/// Default of `redis.ship_interval_ms`.
pub const DEFAULT_SHIP_INTERVAL_MS: u64 = 10;

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: "redis://localhost:6379/0".into(),
            ca_path: None,
            key_prefix: String::new(),
            ttl_seconds: 0,
            timeout_ms: 10_000,
            batch_max_keys: 10_000,
            ship_interval_ms: DEFAULT_SHIP_INTERVAL_MS,
        }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &mask_url(&self.url))
            .field("ca_path", &self.ca_path)
            .field("key_prefix", &self.key_prefix)
            .field("ttl_seconds", &self.ttl_seconds)
            .field("timeout_ms", &self.timeout_ms)
            .field("batch_max_keys", &self.batch_max_keys)
            .field("ship_interval_ms", &self.ship_interval_ms)
            .finish()
    }
}

/// `redis://user:***@host…`: the URL with its password masked.
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &rest[at..])
        }
        None => url.to_string(),
    }
}
