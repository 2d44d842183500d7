//! The insert buffer's thread logic with a recording deliverer (the server side is covered by
//! `server.rs`): hand-overs are merged into one insert per table, nothing is lost or
//! reordered, the worker waits only when the buffer is full, failures keep the rows until a
//! `sync` retries them.

use crate::clickhouse::buffer::{Deliver, InsertBuffer, Limits, Tables};
use crate::clickhouse::encode::TableId;
use crate::sink::SinkError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Inserts delivered: table, body, rows.
type Log = Arc<Mutex<Vec<(TableId, Vec<u8>, usize)>>>;

/// Records every insert `(table, body)`; fails while `down`; waits while `gate` is held.
#[derive(Clone, Default)]
struct Recorder {
    inserts: Log,
    down: Arc<AtomicBool>,
    gate: Arc<Mutex<()>>,
}

impl Deliver for Recorder {
    fn insert(&mut self, table: TableId, body: &[u8], rows: usize) -> Result<(), SinkError> {
        drop(self.gate.lock().unwrap());
        if self.down.load(Ordering::SeqCst) {
            return Err(SinkError::Unavailable("down".into()));
        }
        self.inserts
            .lock()
            .unwrap()
            .push((table, body.to_vec(), rows));
        Ok(())
    }
}

impl Recorder {
    /// Bytes delivered to `table`, in delivery order.
    fn delivered(&self, table: TableId) -> Vec<u8> {
        let inserts = self.inserts.lock().unwrap();
        inserts
            .iter()
            .filter(|(t, _, _)| *t == table)
            .flat_map(|(_, b, _)| b.iter().copied())
            .collect()
    }

    fn count(&self) -> usize {
        self.inserts.lock().unwrap().len()
    }
}

/// A hand-over of one row of one byte `b` to `table`.
/// Polls until hand-over `mark` is durable (true), for at most about a second.
fn durable_within_a_second(buf: &InsertBuffer, mark: u64) -> bool {
    for _ in 0..500 {
        if buf.durable(mark).unwrap() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    buf.durable(mark).unwrap()
}

fn one(table: TableId, b: u8) -> Tables {
    let mut t = Tables::default();
    t.body_mut(table).push(b);
    t.add_row(table);
    t
}

const LIMITS: Limits = Limits {
    max_bytes: 1 << 20,
    batch_rows: 1_000_000,
    min_interval: Duration::ZERO,
};

#[test]
fn hand_overs_wait_for_a_flush_and_then_go_as_one_insert_per_table() {
    let r = Recorder::default();
    let buf = InsertBuffer::start("t", r.clone(), LIMITS).unwrap();
    let mut mark = 0;
    for b in 0..100u8 {
        mark = buf
            .append(&mut one(TableId::Ticks, b), LIMITS.max_bytes)
            .unwrap();
        buf.append(&mut one(TableId::Bars, b), LIMITS.max_bytes)
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    // Below the batch size and nobody asked: nothing is inserted yet.
    assert_eq!(r.count(), 0);
    assert!(!buf.durable(mark).unwrap());
    buf.request(mark).unwrap();
    assert!(durable_within_a_second(&buf, mark));
    // The bars appended after `mark` may or may not be in the same insert.
    assert_eq!(r.delivered(TableId::Ticks), (0..100).collect::<Vec<u8>>());
    let last = buf.handed().unwrap();
    buf.sync(last).unwrap();
    assert_eq!(r.delivered(TableId::Bars), (0..100).collect::<Vec<u8>>());
    assert_eq!(r.count(), 2, "one insert per table");
}

#[test]
fn a_full_table_is_inserted_without_a_flush() {
    let r = Recorder::default();
    let limits = Limits {
        max_bytes: 1 << 20,
        batch_rows: 10,
        min_interval: Duration::ZERO,
    };
    let buf = InsertBuffer::start("t", r.clone(), limits).unwrap();
    let mut mark = 0;
    for b in 0..10u8 {
        mark = buf
            .append(&mut one(TableId::Latest, b), limits.max_bytes)
            .unwrap();
    }
    assert!(durable_within_a_second(&buf, mark));
    assert_eq!(r.delivered(TableId::Latest), (0..10).collect::<Vec<u8>>());
}

#[test]
fn a_slow_server_gets_larger_inserts_and_the_worker_waits_only_when_the_buffer_is_full() {
    let r = Recorder::default();
    let limits = Limits {
        max_bytes: 64,
        batch_rows: 1,
        min_interval: Duration::ZERO,
    };
    let buf = Arc::new(InsertBuffer::start("t", r.clone(), limits).unwrap());
    let held = r.gate.lock().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = {
        let buf = Arc::clone(&buf);
        std::thread::spawn(move || {
            for b in 0..200u8 {
                let mut t = Tables::default();
                t.body_mut(TableId::Ticks).extend_from_slice(&[b; 8]);
                t.add_row(TableId::Ticks);
                buf.append(&mut t, limits.max_bytes).unwrap();
                tx.send(()).unwrap();
            }
            buf.sync(buf.handed().unwrap()).unwrap();
        })
    };
    // The thread took 1 to 8 hand-overs (8 bytes each) and is held at the gate; the buffer
    // takes max_bytes (8 hand-overs) more, then the worker waits.
    let mut appended = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while appended < 9 && std::time::Instant::now() < deadline {
        appended += rx.recv_timeout(Duration::from_millis(10)).map_or(0, |_| 1);
    }
    std::thread::sleep(Duration::from_millis(200));
    appended += rx.try_iter().count();
    assert!((9..=16).contains(&appended), "{appended}");
    drop(held);
    worker.join().unwrap();
    let ticks = r.delivered(TableId::Ticks);
    let want: Vec<u8> = (0..200u8).flat_map(|b| [b; 8]).collect();
    assert_eq!(ticks, want, "every row once, in order");
    // The rows buffered while the server was held went in one insert (at least 8 hand-overs).
    let largest = r
        .inserts
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b, _)| b.len())
        .max();
    assert!(largest >= Some(64), "largest insert {largest:?} bytes");
}

#[test]
fn a_failure_keeps_the_rows_until_a_sync_delivers_them() {
    let r = Recorder::default();
    let buf = InsertBuffer::start("t", r.clone(), LIMITS).unwrap();
    let m1 = buf
        .append(&mut one(TableId::Curves, 1), LIMITS.max_bytes)
        .unwrap();
    buf.sync(m1).unwrap();
    r.down.store(true, Ordering::SeqCst);
    let m2 = buf
        .append(&mut one(TableId::Curves, 2), LIMITS.max_bytes)
        .unwrap();
    buf.request(m2).unwrap();
    assert!(matches!(buf.sync(m2), Err(SinkError::Unavailable(_))));
    assert!(matches!(buf.durable(m2), Err(SinkError::Unavailable(_))));
    // Later hand-overs are kept (and report the failure).
    assert!(matches!(
        buf.append(&mut one(TableId::Curves, 3), LIMITS.max_bytes),
        Err(SinkError::Unavailable(_))
    ));
    assert!(matches!(buf.sync(m2), Err(SinkError::Unavailable(_))));
    r.down.store(false, Ordering::SeqCst);
    buf.sync(buf.handed().unwrap()).unwrap();
    assert!(buf.durable(m2).unwrap());
    assert_eq!(r.delivered(TableId::Curves), vec![1, 2, 3]);
}

#[test]
fn requested_inserts_keep_the_interval_and_a_sync_does_not_wait_for_it() {
    let r = Recorder::default();
    let limits = Limits {
        max_bytes: 1 << 20,
        batch_rows: 1_000_000,
        min_interval: Duration::from_secs(5),
    };
    let buf = InsertBuffer::start("t", r.clone(), limits).unwrap();
    let started = std::time::Instant::now();
    // Flushes ask every 10 ms for 300 ms: no insert within the first interval.
    let mut mark = 0;
    while started.elapsed() < Duration::from_millis(300) {
        mark = buf
            .append(&mut one(TableId::Ticks, 7), limits.max_bytes)
            .unwrap();
        buf.request(mark).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(r.count(), 0);
    assert!(!buf.durable(mark).unwrap());
    // A blocking sync inserts at once (well before the interval ends).
    let m = buf
        .append(&mut one(TableId::Ticks, 7), limits.max_bytes)
        .unwrap();
    buf.sync(m).unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(2_500),
        "{:?}",
        started.elapsed()
    );
    assert!(buf.durable(mark).unwrap());
    assert_eq!(r.count(), 1);
    assert!(r.delivered(TableId::Ticks).iter().all(|b| *b == 7));
}
