//! The sink end to end on one Redis: served values, publications, retractions, NOSCRIPT.

use super::{config, connect};
use crate::redis::RedisSink;
use crate::sink::{Sink, SinkError, Update};
use crate::test_records::{bar, latest, point, unique, HOUR, T0};
use redis::Commands as _;
use std::sync::mpsc;
use std::time::Duration;

/// Subscribes to `projection.updates` and forwards the messages about keys under `prefix`.
fn subscribe(prefix: &str) -> mpsc::Receiver<serde_json::Value> {
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let prefix = prefix.to_string();
    std::thread::spawn(move || {
        let mut con = connect();
        let mut sub = con.as_pubsub();
        sub.subscribe(crate::redis::keys::CHANNEL).unwrap();
        sub.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = ready_tx.send(());
        while let Ok(msg) = sub.get_message() {
            let payload: String = msg.get_payload().unwrap();
            let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
            if v["key"].as_str().is_some_and(|k| k.starts_with(&prefix)) && tx.send(v).is_err() {
                break;
            }
        }
    });
    ready_rx.recv().unwrap();
    rx
}

#[test]
fn served_values_follow_the_views_and_every_change_is_published() {
    let prefix = unique("tf_redis");
    let updates = subscribe(&prefix);
    let mut s = RedisSink::new(config(&prefix)).unwrap();
    let mut con = connect();
    let (l1, l2) = (latest("I", T0, 5.0, 1), latest("I", T0 + HOUR, 6.0, 1));
    let (b_old, b_new) = (
        bar("I", T0, 5.0, 1, true),
        bar("I", T0 + HOUR, 6.0, 1, true),
    );
    s.write(1, Update::Latest(&l1, 1)).unwrap();
    s.write(1, Update::Bar(&b_new, 1)).unwrap();
    s.flush().unwrap();
    // The latest moves on; a bar of an older window arrives later and must not replace the newer.
    s.write(2, Update::Latest(&l2, 1)).unwrap();
    s.write(2, Update::Latest(&l1, -1)).unwrap();
    s.write(2, Update::Bar(&b_old, 1)).unwrap();
    let (p1, p2) = (
        point("C", "HE01", 0, 1.0, false),
        point("C", "HE02", 1, 2.0, false),
    );
    s.write(2, Update::Curve(&p2, 1)).unwrap();
    s.write(2, Update::Curve(&p1, 1)).unwrap();
    s.finish().unwrap();
    let lk = format!("{prefix}:served:latest_price:default:I");
    let got: String = con.get(&lk).unwrap();
    assert_eq!(got, crate::redis::keys::latest_json(&l2));
    let bk = format!("{prefix}:served:bar:default:I:1h");
    let got: String = con.get(&bk).unwrap();
    assert_eq!(got, crate::redis::keys::bar_json(&b_new));
    let ck = format!("{prefix}:served:curve_snapshot:default:C");
    let snap: serde_json::Value =
        serde_json::from_str(&con.get::<_, String>(&ck).unwrap()).unwrap();
    let tenors: Vec<&str> = snap["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["tenor"].as_str().unwrap())
        .collect();
    assert_eq!(tenors, ["HE01", "HE02"]);
    // Published: latest ×2, bar ×1 (the older window was refused), curve ×1.
    let msgs: Vec<serde_json::Value> = (0..4)
        .map(|_| updates.recv_timeout(Duration::from_secs(5)).unwrap())
        .collect();
    let keys: Vec<&str> = msgs.iter().map(|m| m["key"].as_str().unwrap()).collect();
    assert_eq!(keys.iter().filter(|k| **k == lk).count(), 2);
    assert_eq!(keys.iter().filter(|k| **k == bk).count(), 1);
    assert_eq!(keys.iter().filter(|k| **k == ck).count(), 1);
    assert_eq!(msgs.last().unwrap()["value"], snap);
    assert!(
        updates.recv_timeout(Duration::from_millis(300)).is_err(),
        "no extra message"
    );

    // Retraction without replacement deletes; re-delivery of the same state changes nothing.
    let mut s = RedisSink::new(config(&prefix)).unwrap();
    s.write(3, Update::Latest(&l2, -1)).unwrap();
    s.write(3, Update::Curve(&p1, -1)).unwrap();
    s.complete_before(4);
    s.flush().unwrap();
    assert!(!con.exists::<_, bool>(&lk).unwrap());
    let snap: serde_json::Value =
        serde_json::from_str(&con.get::<_, String>(&ck).unwrap()).unwrap();
    assert_eq!(snap["points"].as_array().unwrap().len(), 1);
    let _ = updates.recv_timeout(Duration::from_secs(5)).unwrap();
    let _ = updates.recv_timeout(Duration::from_secs(5)).unwrap();
    s.write(5, Update::Bar(&b_new, 1)).unwrap();
    s.finish().unwrap();
    assert!(
        updates.recv_timeout(Duration::from_millis(300)).is_err(),
        "re-delivery publishes nothing"
    );
    let keys: Vec<String> = con.keys(format!("{prefix}:*")).unwrap();
    let _: () = con.del(keys).unwrap();
}

#[test]
fn flushed_scripts_are_reloaded_and_a_dead_server_is_unavailable() {
    let prefix = unique("tf_redis");
    let mut s = RedisSink::new(config(&prefix)).unwrap();
    let mut con = connect();
    s.write(1, Update::Latest(&latest("I", T0, 5.0, 1), 1))
        .unwrap();
    s.flush().unwrap();
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut con).unwrap();
    s.write(2, Update::Latest(&latest("I", T0 + HOUR, 6.0, 1), 1))
        .unwrap();
    s.flush().unwrap();
    let got: String = con
        .get(format!("{prefix}:served:latest_price:default:I"))
        .unwrap();
    assert!(got.contains("\"price\":6"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config(&prefix);
    cfg.url = format!("redis://127.0.0.1:{port}/0");
    cfg.timeout_ms = 500;
    let mut dead = RedisSink::new(cfg).unwrap();
    dead.write(1, Update::Latest(&latest("I", T0, 5.0, 1), 1))
        .unwrap();
    assert!(matches!(dead.flush(), Err(SinkError::Unavailable(_))));
    let keys: Vec<String> = con.keys(format!("{prefix}:*")).unwrap();
    let _: () = con.del(keys).unwrap();
}
