//! Against a real ClickHouse: migrate is idempotent; the sink's rows collapse under `FINAL`
//! to the current state, retractions hide rows, re-delivery changes nothing, curve rows are
//! numbered after what the table holds, and an unreachable server is `Unavailable`.

use crate::clickhouse::{migrate, ClickhouseConfig, ClickhouseSink, Client};
use crate::sink::{Sink, SinkError, Update};
use crate::test_records::{bar, latest, point, tick, unique, HOUR, T0};
use operators::model::FeedTable;
use std::sync::Arc;

fn config(db: &str) -> ClickhouseConfig {
    ClickhouseConfig {
        url: std::env::var("TICKFLOW_TEST_CLICKHOUSE_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:58123".into()),
        database: db.into(),
        request_timeout_ms: 10_000,
        ..ClickhouseConfig::default()
    }
}

/// A fresh database with the schema; panics with a clear message without a server.
fn fresh() -> (ClickhouseConfig, Client) {
    let cfg = config(&unique("tf_sink"));
    let client = Client::new(&cfg).unwrap();
    if let Err(e) = client.version() {
        panic!(
            "ClickHouse is not reachable at {} ({e}): run `scripts/services.sh up` or set TICKFLOW_TEST_CLICKHOUSE_URL",
            cfg.url
        );
    }
    migrate(&cfg).unwrap();
    (cfg, client)
}

fn rows(client: &Client, sql: &str) -> Vec<serde_json::Value> {
    client
        .query(&format!("{sql} FORMAT JSONEachRow"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sink(cfg: &ClickhouseConfig) -> ClickhouseSink {
    ClickhouseSink::new(cfg.clone(), Arc::new(FeedTable::default())).unwrap()
}

#[test]
fn migrate_twice_is_idempotent() {
    let (cfg, client) = fresh();
    let mut s = sink(&cfg);
    s.write(0, Update::Latest(&latest("A", T0, 1.0, 1), 1))
        .unwrap();
    s.finish().unwrap();
    let report = migrate(&cfg).unwrap();
    assert_eq!(report.statements, 6);
    let tables = rows(
        &client,
        &format!(
            "SELECT name FROM system.tables WHERE database = '{}' ORDER BY name",
            cfg.database
        ),
    );
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "curve_points",
            "dead_letters",
            "latest_prices",
            "market_ticks",
            "ohlc_bars"
        ]
    );
    let n = rows(
        &client,
        &format!("SELECT count() AS n FROM {}.latest_prices", cfg.database),
    );
    assert_eq!(n[0]["n"], "1", "the second migrate kept the data");
    client
        .query(&format!("DROP DATABASE {}", cfg.database))
        .unwrap();
}

#[test]
fn final_rows_follow_updates_retractions_and_redelivery() {
    let (cfg, client) = fresh();
    let db = &cfg.database;
    let updates = |s: &mut ClickhouseSink, first: bool| {
        let (b1, b2) = (bar("I", T0, 5.0, 1, false), bar("I", T0, 7.0, 2, true));
        s.write(1, Update::Bar(&b1, 1)).unwrap();
        s.flush().unwrap();
        // A change delivered new-first, and a latest price retracted without replacement.
        s.write(2, Update::Bar(&b2, 1)).unwrap();
        s.write(2, Update::Bar(&b1, -1)).unwrap();
        let (l1, l2) = (latest("I", T0, 5.0, 1), latest("J", T0, 3.0, 1));
        s.write(2, Update::Latest(&l1, 1)).unwrap();
        s.write(2, Update::Latest(&l2, 1)).unwrap();
        s.flush().unwrap();
        s.write(3, Update::Latest(&l2, -1)).unwrap();
        s.flush().unwrap();
        if first {
            // (On re-delivery J's earlier deletion already wins: a row re-added at the version
            // it was deleted at stays deleted, and the replay deletes it again anyway.)
            let held = rows(
                &client,
                &format!("SELECT count() AS n FROM {db}.latest_prices FINAL WHERE NOT deleted"),
            );
            assert_eq!(
                held[0]["n"], "2",
                "a retraction of an incomplete time waits"
            );
        }
        s.complete_before(4);
        s.flush().unwrap();
        let (t1, t2) = (tick("I", T0, 5.0, 1), tick("I", T0, 6.0, 2));
        s.write(4, Update::Tick(&t1, 1)).unwrap();
        s.write(5, Update::Tick(&t1, -1)).unwrap();
        s.write(5, Update::Tick(&t2, 1)).unwrap();
        s.finish().unwrap();
    };
    let check = || {
        let bars = rows(&client, &format!("SELECT close, revision, is_final, row_version FROM {db}.ohlc_bars FINAL WHERE NOT deleted"));
        assert_eq!(bars.len(), 1);
        assert_eq!(
            (bars[0]["close"].as_f64(), bars[0]["revision"].as_str()),
            (Some(7.0), Some("2"))
        );
        let latest = rows(
            &client,
            &format!("SELECT instrument_id FROM {db}.latest_prices FINAL WHERE NOT deleted"),
        );
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0]["instrument_id"], "I");
        let gone = rows(&client, &format!("SELECT deleted, row_version FROM {db}.latest_prices FINAL WHERE instrument_id = 'J'"));
        assert_eq!(gone[0]["deleted"], 1);
        let ticks = rows(
            &client,
            &format!("SELECT price, version FROM {db}.market_ticks FINAL WHERE NOT deleted"),
        );
        assert_eq!(ticks.len(), 1);
        assert_eq!(ticks[0]["price"].as_f64(), Some(6.0));
    };
    let mut s = sink(&cfg);
    updates(&mut s, true);
    check();
    // Re-delivery of everything by a new sink (a restarted job): the same final rows.
    let mut again = sink(&cfg);
    updates(&mut again, false);
    client
        .query(&format!("OPTIMIZE TABLE {db}.ohlc_bars FINAL"))
        .unwrap();
    check();
    client.query(&format!("DROP DATABASE {db}")).unwrap();
}

#[test]
fn curve_rows_are_numbered_in_write_order_across_sinks() {
    let (cfg, client) = fresh();
    let db = &cfg.database;
    let interpolated = point("C", "HE01", 0, 20.0, true);
    let mut priced = point("C", "HE01", 0, 21.0, false);
    priced.as_of_ms = T0 - 10 * HOUR; // older than the interpolation: data versions would go down
    let mut s = sink(&cfg);
    s.write(1, Update::Curve(&interpolated, 1)).unwrap();
    s.flush().unwrap();
    s.write(2, Update::Curve(&priced, 1)).unwrap();
    s.write(2, Update::Curve(&interpolated, -1)).unwrap();
    s.finish().unwrap();
    let got = rows(
        &client,
        &format!("SELECT price, row_version FROM {db}.curve_points FINAL WHERE NOT deleted"),
    );
    assert_eq!(got[0]["price"].as_f64(), Some(21.0));
    assert_eq!(got[0]["row_version"], "2");
    // A new sink reads the stored version back and continues above it; a retraction hides it.
    let mut s = sink(&cfg);
    s.write(3, Update::Curve(&priced, -1)).unwrap();
    s.finish().unwrap();
    let got = rows(
        &client,
        &format!("SELECT deleted, row_version FROM {db}.curve_points FINAL"),
    );
    assert_eq!(
        (got[0]["deleted"].as_u64(), got[0]["row_version"].as_str()),
        (Some(1), Some("3"))
    );
    client.query(&format!("DROP DATABASE {db}")).unwrap();
}

#[test]
fn an_unreachable_server_is_unavailable_and_nothing_is_lost() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut cfg = config("nowhere");
    cfg.url = format!("http://127.0.0.1:{port}");
    cfg.batch_max_rows = 2;
    let mut s = sink(&cfg);
    s.write(0, Update::Latest(&latest("A", T0, 1.0, 1), 1))
        .unwrap();
    // The batch is full: the insert goes to the I/O thread, which may not have failed yet.
    match s.write(0, Update::Latest(&latest("B", T0, 1.0, 1), 1)) {
        Ok(()) | Err(SinkError::Unavailable(_)) => {}
        Err(e) => panic!("{e}"),
    }
    assert!(matches!(s.flush(), Err(SinkError::Unavailable(_))));
    // Once the thread failed, handing it more is refused as Unavailable too (rows kept).
    assert!(matches!(
        s.write(0, Update::Latest(&latest("C", T0, 1.0, 1), 1))
            .and_then(|_| s.write(0, Update::Latest(&latest("D", T0, 1.0, 1), 1))),
        Err(SinkError::Unavailable(_))
    ));
    assert!(matches!(s.flush(), Err(SinkError::Unavailable(_))));
    // The same sink, pointed at a real server, delivers what it held.
    let (good, client) = fresh();
    s = {
        let mut moved = s;
        moved.retarget_for_tests(&good);
        moved
    };
    s.finish().unwrap();
    let n = rows(
        &client,
        &format!(
            "SELECT count() AS n FROM {}.latest_prices FINAL",
            good.database
        ),
    );
    assert_eq!(n[0]["n"], "4");
    client
        .query(&format!("DROP DATABASE {}", good.database))
        .unwrap();
}
