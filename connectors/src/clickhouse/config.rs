//! What the ClickHouse sink and `migrate` need to reach the server: the HTTP endpoint, the
//! database, credentials (the password never appears in `Debug`), timeouts and batching.

use std::fmt;
use std::path::PathBuf;

/// Connection and batching settings of the ClickHouse sink (built from `[clickhouse]` and
/// `[output]` by the runtime).
#[derive(Clone)]
pub struct ClickhouseConfig {
    /// HTTP(S) endpoint, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// Database holding the tables (SPEC §6: `data_processing`).
    pub database: String,
    /// User name (`X-ClickHouse-User`).
    pub user: String,
    /// Password (`X-ClickHouse-Key`); never printed.
    pub password: String,
    /// CA bundle (PEM) for an `https` URL; `None` = the bundled web roots.
    pub ca_path: Option<PathBuf>,
    /// Timeout of one HTTP request.
    pub request_timeout_ms: u64,
    /// A sink inserts as soon as this many rows of a table are pending, without waiting for a
    /// flush.
    pub batch_max_rows: usize,
    /// Rendered rows a sink buffers for its I/O thread before the worker waits (the thread
    /// inserts without waiting for a flush once half of it is buffered).
    pub buffer_max_bytes: usize,
    /// Least time between two inserts of a sink that flushes ask for without waiting (each
    /// insert is a part per table the server writes and merges); blocking flushes (`finish`,
    /// retries) insert at once.
    pub insert_interval_ms: u64,
    /// Rows of ticks, curve points and dead letters older than this many days are dropped by a
    /// TTL on servers that support TTLs (not on 18.16); 0 = no TTL.
    pub ttl_days: u32,
}

impl Default for ClickhouseConfig {
    fn default() -> Self {
        ClickhouseConfig {
            url: "http://localhost:8123".into(),
            database: "data_processing".into(),
            user: "default".into(),
            password: String::new(),
            ca_path: None,
            request_timeout_ms: 30_000,
            batch_max_rows: 100_000,
            buffer_max_bytes: 32 << 20,
            insert_interval_ms: 2_000,
            ttl_days: 0,
        }
    }
}

impl fmt::Debug for ClickhouseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClickhouseConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("ca_path", &self.ca_path)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("batch_max_rows", &self.batch_max_rows)
            .field("buffer_max_bytes", &self.buffer_max_bytes)
            .field("insert_interval_ms", &self.insert_interval_ms)
            .field("ttl_days", &self.ttl_days)
            .finish()
    }
}
