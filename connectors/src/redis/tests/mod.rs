//! Tests of the Redis projection against a real Redis (`TICKFLOW_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:56379/0`; they fail when it is unreachable). Each test uses its own key
//! prefix, so tests run in parallel on one server.

mod script;
mod sink;

use crate::redis::RedisConfig;

pub fn url() -> String {
    std::env::var("TICKFLOW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:56379/0".into())
}

pub fn connect() -> redis::Connection {
    let url = url();
    redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection_with_timeout(std::time::Duration::from_secs(3)))
        .unwrap_or_else(|e| {
            panic!("Redis is not reachable at {url} ({e}): run `scripts/services.sh up` or set TICKFLOW_TEST_REDIS_URL")
        })
}

pub fn config(prefix: &str) -> RedisConfig {
    RedisConfig {
        url: url(),
        key_prefix: format!("{prefix}:"),
        ..RedisConfig::default()
    }
}
