//! The source survives a PostgreSQL restart: it reports the outage, keeps its rows, reconnects
//! and then delivers every change made before and after the restart exactly once.

use crate::support::{PrivateCluster, TestSchema};
use connectors::reference::{PostgresSource, ReferenceSource};
use operators::model::ReferenceRow;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn insert(s: &mut TestSchema, id: &str) {
    s.client
        .batch_execute(&format!(
            "INSERT INTO taxonomy_instruments (tenant_id, instrument_id, commodity) VALUES ('t', '{id}', 'power')"
        ))
        .expect("insert");
}

fn record(seen: &mut BTreeMap<String, i64>, updates: Vec<(ReferenceRow, i64)>) {
    for (row, d) in updates {
        *seen.entry(row.key().id.to_string()).or_default() += d;
    }
}

#[test]
fn survives_a_server_restart_without_losing_or_doubling_changes() {
    let cluster = PrivateCluster::start();
    let mut s = TestSchema::on(&cluster.dsn(), "restart");
    insert(&mut s, "BEFORE_SNAPSHOT");
    let mut source = PostgresSource::new(s.dsn.clone(), Duration::from_millis(20));
    let snapshot = source.snapshot().expect("snapshot");
    let mut seen: BTreeMap<String, i64> = snapshot
        .iter()
        .map(|r| (r.key().id.to_string(), 1))
        .collect();
    insert(&mut s, "BEFORE_STOP");
    // Not polled before the stop: this change must arrive after the restart.
    cluster.pg_ctl("stop");
    std::thread::sleep(Duration::from_millis(30));
    record(&mut seen, source.poll_changes());
    let error = source
        .last_error()
        .expect("the outage is reported")
        .to_string();
    assert!(error.contains("unavailable"), "{error}");
    assert_eq!(
        source.baseline().rows().len(),
        1,
        "the last good rows are kept"
    );
    cluster.pg_ctl("start");
    // The test's own connection died with the server.
    let mut writer = TestSchema::reconnect(&s);
    writer
        .batch_execute(
            "INSERT INTO taxonomy_instruments (tenant_id, instrument_id, commodity) VALUES ('t', 'AFTER_START', 'power');
             UPDATE taxonomy_instruments SET active = false WHERE instrument_id = 'BEFORE_SNAPSHOT'",
        )
        .expect("changes after the restart");
    let deadline = Instant::now() + Duration::from_secs(20);
    while source.last_error().is_some() || !seen.contains_key("AFTER_START") {
        assert!(
            Instant::now() < deadline,
            "no recovery: {:?}",
            source.last_error()
        );
        std::thread::sleep(Duration::from_millis(25));
        record(&mut seen, source.poll_changes());
    }
    // Later polls bring nothing more (no duplicates).
    std::thread::sleep(Duration::from_millis(50));
    record(&mut seen, source.poll_changes());
    let live: Vec<(&str, i64)> = seen.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        live,
        vec![
            ("AFTER_START", 1),
            ("BEFORE_SNAPSHOT", 0),
            ("BEFORE_STOP", 1)
        ]
    );
}
