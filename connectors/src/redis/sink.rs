//! The Redis projection sink: nets each worker's latest-price, bar and curve updates per
//! record, then writes them in one pipeline of `EVALSHA` calls per flush (see `script.rs`:
//! versions are compared, values set and changes published atomically inside Redis).
//!
//! Retractions: a latest price or bar retracted without a replacement at its (complete) time
//! deletes the served key, guarded by a version just above the retracted value's (so a newer
//! value already served is kept); a retracted curve point leaves the snapshot. Ticks and dead
//! letters are not served from Redis.
//!
//! The worker nets and prepares the commands; pipelines of up to [`PIPELINE_MAX`] commands are
//! sent by the sink's I/O thread ([`crate::offload`], bounded queue), and `flush`/`finish`
//! return once Redis acknowledged every pipeline handed over before them. A broken connection
//! (Redis restarted) → [`SinkError::Unavailable`]; the next attempt reconnects, reloads the
//! scripts and re-sends the whole pipeline (the guards make the repeat harmless). A `NOSCRIPT`
//! answer reloads the scripts and re-sends once. Anything else Redis refuses (wrong type at a
//! key, script error) → [`SinkError::Fatal`].

use super::config::RedisConfig;
use super::keys;
use super::script::{self, guard_key, point_versions_key, points_key};
use crate::netting::{Net, Netting};
use crate::offload::{Offload, Transport};
use crate::sink::{Sink, SinkError, Update};
use operators::model::{Bar, LatestPrice};
use std::collections::BTreeMap;
use std::time::Duration;

/// Commands per pipeline round trip.
const PIPELINE_MAX: usize = 1_000;

/// Least time between two hand-overs by [`Sink::ship`].
const SHIP_INTERVAL: Duration = Duration::from_millis(200);

/// A served value (latest price or bar) at its key. Rendered (versions and JSON) only when
/// handed out by the netting: most updates are superseded within the same time first.
#[derive(Debug, PartialEq)]
struct Value {
    key: String,
    record: Record,
}

#[derive(Debug, PartialEq)]
enum Record {
    Latest(LatestPrice),
    Bar(Bar),
}

impl Value {
    /// The version guarding this value (`deleted`: the version of its deletion).
    fn version(&self, deleted: bool) -> String {
        match &self.record {
            Record::Latest(l) => keys::latest_version(l, deleted),
            Record::Bar(b) => keys::bar_version(b, deleted),
        }
    }

    fn json(&self) -> String {
        match &self.record {
            Record::Latest(l) => keys::latest_json(l),
            Record::Bar(b) => keys::bar_json(b),
        }
    }
}

/// A curve point operation.
#[derive(Debug, PartialEq, Eq)]
struct Point {
    curve_key: String,
    head: String,
    field: String,
    version: Option<String>,
    json: String,
}

/// One worker's Redis sink.
pub struct RedisSink {
    io: Offload<redis::Pipeline>,
    cfg: RedisConfig,
    value_sha: String,
    curve_sha: String,
    values: Netting<Value>,
    points: Netting<Point>,
    outbox: Vec<redis::Cmd>,
    complete_before: Option<u64>,
    counts: [u64; 3],
    last_ship: std::time::Instant,
    last_value_ship: std::time::Instant,
}

/// Sends pipelines on the I/O thread over one connection, (re)connected on demand.
struct Sender {
    client: redis::Client,
    con: Option<redis::Connection>,
    timeout: Duration,
}

fn unavailable(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || matches!(
            e.kind(),
            redis::ErrorKind::BusyLoadingError | redis::ErrorKind::TryAgain
        )
}

/// A Redis error as a sink error; the message names the failure, never the URL.
fn sink_error(e: redis::RedisError) -> SinkError {
    let msg = format!("redis: {:?}: {}", e.kind(), e.detail().unwrap_or(""));
    if unavailable(&e) {
        SinkError::Unavailable(msg)
    } else {
        SinkError::Fatal(msg)
    }
}

#[derive(Clone, Copy)]
enum Drain {
    Live,
    Complete,
    All,
}

impl RedisSink {
    /// A sink for `cfg`; connects lazily, on the first write to the server.
    pub fn new(cfg: RedisConfig) -> Result<RedisSink, SinkError> {
        let client = match &cfg.ca_path {
            Some(ca) => {
                let pem = std::fs::read(ca).map_err(|e| {
                    SinkError::Fatal(format!("redis ca_path {}: {e}", ca.display()))
                })?;
                redis::Client::build_with_tls(
                    cfg.url.as_str(),
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    },
                )
            }
            None => redis::Client::open(cfg.url.as_str()),
        }
        .map_err(|e| SinkError::Fatal(format!("redis url: {:?}", e.kind())))?;
        let sender = Sender {
            client,
            con: None,
            timeout: Duration::from_millis(cfg.timeout_ms.max(1)),
        };
        Ok(RedisSink {
            io: Offload::start("redis-sink", sender)?,
            cfg,
            value_sha: script::sha(script::VALUE),
            curve_sha: script::sha(script::CURVE),
            values: Netting::default(),
            points: Netting::default(),
            outbox: Vec::new(),
            complete_before: None,
            counts: [0; 3],
            last_ship: std::time::Instant::now(),
            last_value_ship: std::time::Instant::now(),
        })
    }

    fn value_cmd(&self, v: &Value, deleted: bool) -> redis::Cmd {
        let mut c = redis::cmd("EVALSHA");
        c.arg(&self.value_sha)
            .arg(2)
            .arg(&v.key)
            .arg(guard_key(&v.key))
            .arg(v.version(deleted))
            .arg(if deleted { "del" } else { "set" })
            .arg(if deleted { String::new() } else { v.json() })
            .arg(self.cfg.ttl_seconds)
            .arg(keys::CHANNEL);
        c
    }

    fn pending(&self) -> usize {
        self.values.len() + self.points.len() + self.outbox.len()
    }

    /// Queues the drained values and, with `points`, the drained curve points.
    fn prepare(&mut self, how: Drain, points: bool) {
        let bound = match how {
            Drain::Live => Some(0),
            Drain::Complete => Some(self.complete_before.unwrap_or(0)),
            Drain::All => None,
        };
        for (_, net) in self.values.drain(bound) {
            let cmd = match &net {
                Net::Live(v) => self.value_cmd(v, false),
                Net::Retracted(v) => self.value_cmd(v, true),
            };
            self.outbox.push(cmd);
        }
        if !points {
            return;
        }
        let mut curves: BTreeMap<String, (String, Vec<(Point, bool)>)> = BTreeMap::new();
        for (_, net) in self.points.drain(bound) {
            let (p, live) = match net {
                Net::Live(p) => (p, true),
                Net::Retracted(p) => (p, false),
            };
            curves
                .entry(p.curve_key.clone())
                .or_insert_with(|| (p.head.clone(), Vec::new()))
                .1
                .push((p, live));
        }
        for (key, (head, ops)) in curves {
            let mut c = redis::cmd("EVALSHA");
            c.arg(&self.curve_sha)
                .arg(3)
                .arg(&key)
                .arg(points_key(&key))
                .arg(point_versions_key(&key))
                .arg(self.cfg.ttl_seconds)
                .arg(keys::CHANNEL)
                .arg(head);
            for (p, live) in ops {
                c.arg(&p.field);
                if live {
                    c.arg("set")
                        .arg(p.version.as_deref().unwrap_or(""))
                        .arg(&p.json);
                } else {
                    c.arg("del").arg("").arg("");
                }
            }
            self.outbox.push(c);
        }
    }

    /// Hands the outbox to the I/O thread in pipelines of up to [`PIPELINE_MAX`] commands.
    fn send(&mut self) -> Result<(), SinkError> {
        let mut result = Ok(());
        while !self.outbox.is_empty() {
            let n = self.outbox.len().min(PIPELINE_MAX);
            let mut pipe = redis::pipe();
            for c in self.outbox.drain(..n) {
                pipe.add_command(c);
            }
            if let Err(e) = self.io.submit(pipe) {
                result = Err(e);
            }
        }
        result
    }

    fn hand_over(&mut self, how: Drain) -> Result<(), SinkError> {
        self.last_ship = std::time::Instant::now();
        self.prepare(how, true);
        self.send()
    }

    /// Ships, then waits until Redis acknowledged everything handed over.
    fn hand_over_and_sync(&mut self, how: Drain) -> Result<(), SinkError> {
        match self.hand_over(how) {
            // Delivery failed earlier: `sync` retries it (and reports whether it still fails).
            Ok(()) | Err(SinkError::Unavailable(_)) => self.io.sync(),
            Err(e) => Err(e),
        }
    }
}

impl Sender {
    fn connection(&mut self) -> Result<&mut redis::Connection, SinkError> {
        if self.con.is_none() {
            let mut con = self
                .client
                .get_connection_with_timeout(self.timeout)
                .map_err(sink_error)?;
            con.set_read_timeout(Some(self.timeout))
                .map_err(sink_error)?;
            con.set_write_timeout(Some(self.timeout))
                .map_err(sink_error)?;
            script::load(&mut con).map_err(sink_error)?;
            self.con = Some(con);
        }
        self.con
            .as_mut()
            .ok_or_else(|| SinkError::Unavailable("redis: not connected".into()))
    }
}

impl Transport for Sender {
    type Job = redis::Pipeline;

    /// Sends one pipeline, reconnecting when needed; a `NOSCRIPT` reloads the scripts and
    /// re-sends once.
    fn deliver(&mut self, pipe: &mut redis::Pipeline) -> Result<(), SinkError> {
        let con = self.connection()?;
        let result: redis::RedisResult<Vec<i64>> = match pipe.query(con) {
            Err(e) if e.kind() == redis::ErrorKind::NoScriptError => {
                script::load(con).and_then(|_| pipe.query(con))
            }
            other => other,
        };
        result.map(|_| ()).map_err(|e| {
            if unavailable(&e) {
                self.con = None;
            }
            sink_error(e)
        })
    }
}

impl Sink for RedisSink {
    fn kind(&self) -> &'static str {
        "redis"
    }
    fn durable_on_flush(&self) -> bool {
        true
    }

    fn write(&mut self, time: u64, update: Update<'_>) -> Result<(), SinkError> {
        let prefix = self.cfg.key_prefix.as_str();
        match update {
            Update::Latest(l, diff) => {
                self.counts[0] += 1;
                let key = keys::latest_key(prefix, l);
                let v = Value {
                    key: key.clone(),
                    record: Record::Latest(l.clone()),
                };
                self.values.apply(key, v, diff, time);
            }
            Update::Bar(b, diff) => {
                self.counts[1] += 1;
                let key = keys::bar_key(prefix, b);
                let v = Value {
                    key: key.clone(),
                    record: Record::Bar(b.clone()),
                };
                // Net per bar (window), not per served key: the script keeps the newest window.
                self.values
                    .apply(format!("{key}\u{1f}{}", b.window_start_ms), v, diff, time);
            }
            Update::Curve(p, diff) => {
                self.counts[2] += 1;
                let curve_key = keys::curve_key(prefix, &p.tenant_id, &p.curve_id);
                let field = keys::point_field(p);
                let point = Point {
                    head: keys::snapshot_head(&p.tenant_id, &p.curve_id),
                    version: keys::point_version(p),
                    json: keys::point_json(p),
                    field: field.clone(),
                    curve_key: curve_key.clone(),
                };
                self.points
                    .apply(format!("{curve_key}\u{1f}{field}"), point, diff, time);
            }
            Update::Tick(..) | Update::DeadLetter(_) => return Ok(()),
        }
        if self.pending() >= self.cfg.batch_max_keys.max(1) {
            self.hand_over(Drain::Live)?;
        }
        Ok(())
    }

    fn complete_before(&mut self, frontier: u64) {
        self.complete_before = Some(frontier);
    }

    fn ship(&mut self) -> Result<(), SinkError> {
        // Latest prices and bars carry data versions (a re-delivery never publishes an older
        // state), so they are handed over at once — at most every `ship_interval_ms`, so a key
        // updated by every tick nets to one script call per interval (BENCHMARKS.md: CPU of
        // the sink and of Redis at 50k ticks/s). Curve points at most every SHIP_INTERVAL:
        // interpolated points (no data version) apply in write order, so a re-delivery
        // re-publishes every intermediate state that was handed over (docs/design.md, Redis).
        if self.last_value_ship.elapsed() < Duration::from_millis(self.cfg.ship_interval_ms) {
            return Ok(());
        }
        self.last_value_ship = std::time::Instant::now();
        if self.last_ship.elapsed() < SHIP_INTERVAL {
            self.prepare(Drain::Complete, false);
            return self.send();
        }
        self.hand_over(Drain::Complete)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.hand_over_and_sync(Drain::Complete)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.hand_over_and_sync(Drain::All)
    }

    fn counts(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("latest", self.counts[0]),
            ("bars", self.counts[1]),
            ("curves", self.counts[2]),
        ]
    }
}
