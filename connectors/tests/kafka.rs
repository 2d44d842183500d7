//! The Kafka source against librdkafka's mock cluster running in another process (the
//! `tickflow-mock-kafka` binary): produce here, consume here through the broker process, and
//! check every message is handed out exactly once, in batch order, resumably.

use connectors::kafka::{KafkaPlan, KafkaReadOptions, KafkaReader, KafkaSettings};
use connectors::source::{Poll, SourceReader};
use operators::model::{FeedId, FeedTable, RawDocument};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The helper binary, killed on drop.
struct BrokerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    bootstrap: String,
}

impl BrokerProcess {
    fn start() -> BrokerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tickflow-mock-kafka"))
            .arg("1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tickflow-mock-kafka");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut bootstrap = String::new();
        stdout.read_line(&mut bootstrap).unwrap();
        let bootstrap = bootstrap.trim().to_string();
        assert!(bootstrap.contains(':'), "bootstrap line: {bootstrap:?}");
        BrokerProcess {
            child,
            stdin,
            stdout,
            bootstrap,
        }
    }

    fn command(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        answer.trim().to_string()
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn settings(bootstrap: &str, group: &str) -> KafkaSettings {
    KafkaSettings {
        consumer_group: group.into(),
        session_timeout_ms: 6000,
        ..KafkaSettings::for_bootstrap(bootstrap)
    }
}

fn produce(bootstrap: &str, topic: &str, messages: &[(i32, String)]) {
    let producer: BaseProducer = settings(bootstrap, "p").producer_config().create().unwrap();
    for (partition, body) in messages {
        producer
            .send(
                BaseRecord::<(), _>::to(topic)
                    .partition(*partition)
                    .payload(body),
            )
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// Polls `reader` until done (bounded) or `limit` documents; panics after 60 s.
fn read(reader: &mut KafkaReader, limit: usize) -> Vec<RawDocument> {
    let started = Instant::now();
    let mut docs = Vec::new();
    while docs.len() < limit {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "reader stuck: {:?}",
            reader.health()
        );
        match reader.poll() {
            Poll::Ready(d) => docs.push(d),
            Poll::Pending => std::thread::sleep(Duration::from_millis(5)),
            Poll::Done => break,
        }
    }
    docs
}

fn messages(docs: &[RawDocument]) -> Vec<(FeedId, u64, String)> {
    let mut v: Vec<_> = docs
        .iter()
        .filter(|d| !d.bytes.is_empty())
        .map(|d| {
            (
                d.feed,
                d.offset,
                String::from_utf8(d.bytes.to_vec()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn expected(
    plan: &KafkaPlan,
    topic: &str,
    produced: &[(i32, String)],
) -> Vec<(FeedId, u64, String)> {
    let mut next: BTreeMap<i32, u64> = BTreeMap::new();
    let mut v: Vec<_> = produced
        .iter()
        .map(|(p, body)| {
            let feed = plan
                .partitions
                .iter()
                .find(|x| x.topic == topic && x.partition == *p)
                .unwrap()
                .feed;
            let o = next.entry(*p).or_default();
            *o += 1;
            (feed, *o - 1, body.clone())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn partitions_are_read_once_across_workers_in_batch_order_and_resume() {
    let mut broker = BrokerProcess::start();
    assert_eq!(broker.command("create docs.v1 3"), "ok");
    assert!(broker.command("explode").starts_with("error:"));
    let produced: Vec<(i32, String)> = (0..40).map(|i| (i % 3, format!("document {i}"))).collect();
    produce(&broker.bootstrap, "docs.v1", &produced);
    let s = settings(&broker.bootstrap, "g1");
    let mut table = FeedTable::default();
    let plan = KafkaPlan::fetch(&s, &["docs.v1".to_string()], &mut table).unwrap();
    assert_eq!(plan.len(), 3);
    let want = expected(&plan, "docs.v1", &produced);

    // Two workers: every message exactly once, each partition's batches increasing, one last.
    let mut all = Vec::new();
    for w in 0..2 {
        let mut r = KafkaReader::new(
            s.clone(),
            &plan,
            w,
            2,
            KafkaReadOptions {
                batch_max_bytes: 1 << 20,
                ..KafkaReadOptions::default()
            },
        );
        let docs = read(&mut r, usize::MAX);
        let mut last_batch: BTreeMap<FeedId, u64> = BTreeMap::new();
        for d in &docs {
            if let Some(prev) = last_batch.insert(d.feed, d.batch) {
                assert!(
                    d.batch > prev,
                    "feed {} batch {} after {prev}",
                    d.feed,
                    d.batch
                );
            }
        }
        for feed in plan.partitions_for(w, 2).iter().map(|p| p.feed) {
            let lasts: Vec<&RawDocument> =
                docs.iter().filter(|d| d.feed == feed && d.last).collect();
            assert_eq!(lasts.len(), 1, "feed {feed}");
            assert!(docs.iter().rev().find(|d| d.feed == feed).unwrap().last);
        }
        all.extend(docs);
    }
    assert_eq!(messages(&all), want);

    // Resume: read 10, stop, resume from the positions; nothing lost, nothing doubled.
    let opts = KafkaReadOptions {
        batch_max_bytes: 1 << 20,
        ..KafkaReadOptions::default()
    };
    let mut first = KafkaReader::new(s.clone(), &plan, 0, 1, opts.clone());
    let head = read(&mut first, 10);
    assert_eq!(head.len(), 10);
    let positions = first.positions();
    first.commit(&positions).unwrap();
    drop(first);
    let start: BTreeMap<FeedId, u64> = positions.iter().map(|p| (p.feed, p.next)).collect();
    let mut resumed = KafkaReader::new(
        s.clone(),
        &plan,
        0,
        1,
        KafkaReadOptions {
            start,
            ..opts.clone()
        },
    );
    let mut both = head.clone();
    both.extend(read(&mut resumed, usize::MAX));
    assert_eq!(messages(&both), want);

    // Without positions, the group's committed offsets are the start.
    let mut committed = KafkaReader::new(s.clone(), &plan, 0, 1, opts.clone());
    let mut again = head;
    again.extend(read(&mut committed, usize::MAX));
    assert_eq!(messages(&again), want);
    assert!(
        committed.lag().iter().all(|l| l.lag == 0),
        "{:?}",
        committed.lag()
    );
}

#[test]
fn envelope_messages_are_grouped_into_batches_by_bytes() {
    let mut broker = BrokerProcess::start();
    assert_eq!(
        broker.command("create ingestion.market.ticks.raw.v1 1"),
        "ok"
    );
    let produced: Vec<(i32, String)> = (0..20).map(|i| (0, format!("{{\"n\":{i:04}}}"))).collect();
    produce(
        &broker.bootstrap,
        "ingestion.market.ticks.raw.v1",
        &produced,
    );
    let s = settings(&broker.bootstrap, "g2");
    let mut table = FeedTable::default();
    let plan = KafkaPlan::fetch(&s, &["ingestion.market.ticks.raw.v1".into()], &mut table).unwrap();
    // Each message is 10 bytes: batches of 30 bytes hold 3 messages.
    let mut r = KafkaReader::new(
        s,
        &plan,
        0,
        1,
        KafkaReadOptions {
            batch_max_bytes: 30,
            ..KafkaReadOptions::default()
        },
    );
    let docs = read(&mut r, usize::MAX);
    assert_eq!(docs.len(), 20);
    let batches: Vec<u64> = docs.iter().map(|d| d.batch).collect();
    let want: Vec<u64> = (0..20).map(|i| i / 3).collect();
    assert_eq!(batches, want);
    assert!(docs
        .iter()
        .all(|d| d.format == Some(operators::parse::Format::Envelope)));
    assert!(docs[19].last && docs.iter().filter(|d| d.last).count() == 1);
}

#[test]
fn an_empty_partition_still_ends_and_a_missing_topic_fails_planning() {
    let mut broker = BrokerProcess::start();
    assert_eq!(broker.command("create empty.v1 2"), "ok");
    let s = settings(&broker.bootstrap, "g3");
    let mut table = FeedTable::default();
    let plan = KafkaPlan::fetch(&s, &["empty.v1".into()], &mut table).unwrap();
    let mut r = KafkaReader::new(s.clone(), &plan, 0, 1, KafkaReadOptions::default());
    let docs = read(&mut r, usize::MAX);
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d.last && d.bytes.is_empty()));
    let err = KafkaPlan::fetch(&s, &["nope.v1".into()], &mut table).unwrap_err();
    assert!(err.to_string().contains("nope.v1"), "{err}");
}

#[test]
fn a_followed_partition_survives_a_broker_outage_and_reports_idle() {
    let mut broker = BrokerProcess::start();
    assert_eq!(broker.command("create live.v1 1"), "ok");
    produce(&broker.bootstrap, "live.v1", &[(0, "before".into())]);
    let s = settings(&broker.bootstrap, "g4");
    let mut table = FeedTable::default();
    let plan = KafkaPlan::fetch(&s, &["live.v1".into()], &mut table).unwrap();
    let mut r = KafkaReader::new(
        s,
        &plan,
        0,
        1,
        KafkaReadOptions {
            follow: true,
            batch_max_bytes: 1 << 20,
            idle_timeout_ms: Some(300),
            start: BTreeMap::new(),
        },
    );
    let first = read(&mut r, 1);
    assert_eq!(messages(&first).len(), 1);
    assert!(!first[0].last);
    // Nothing more yet: the reader promises that later documents come in a later round, so the
    // source can let the first batch complete downstream without waiting for the idle marker.
    assert!(matches!(r.poll(), Poll::Pending));
    assert!(r.next_batch_floor().is_some_and(|f| f > first[0].batch));
    // Silent for the idle timeout: one empty idle marker (not the end of the feed), then nothing.
    let idle = read(&mut r, 1);
    assert!(idle[0].idle && !idle[0].last);
    assert!(idle[0].bytes.is_empty() && idle[0].batch > first[0].batch);
    assert_eq!(broker.command("down 1"), "ok");
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        assert!(
            !matches!(r.poll(), Poll::Done),
            "a followed input never ends"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(broker.command("up 1"), "ok");
    produce(&broker.bootstrap, "live.v1", &[(0, "after".into())]);
    let after = read(&mut r, 1);
    assert_eq!(
        messages(&after),
        vec![(first[0].feed, 1, "after".to_string())]
    );
    assert_eq!(r.positions()[0].next, 2);
}
