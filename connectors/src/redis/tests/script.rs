//! The Lua guards, called directly with `EVALSHA`.

use super::connect;
use crate::redis::keys::version;
use crate::redis::script::{self, guard_key, point_versions_key, points_key, CURVE, VALUE};
use crate::test_records::unique;
use redis::Commands as _;

fn set(con: &mut redis::Connection, key: &str, v: &str, op: &str, json: &str, ttl: u64) -> i64 {
    redis::cmd("EVALSHA")
        .arg(script::sha(VALUE))
        .arg(2)
        .arg(key)
        .arg(guard_key(key))
        .arg(v)
        .arg(op)
        .arg(json)
        .arg(ttl)
        .arg("projection.updates.test")
        .query(con)
        .unwrap()
}

#[test]
fn older_versions_are_refused_and_the_guard_survives_expiry() {
    let mut con = connect();
    script::load(&mut con).unwrap();
    let key = unique("tf_guard");
    assert_eq!(
        set(&mut con, &key, &version(10, 4), "set", "{\"p\":2}", 0),
        1
    );
    assert_eq!(
        set(&mut con, &key, &version(10, 2), "set", "{\"p\":1}", 0),
        0,
        "older refused"
    );
    assert_eq!(
        set(&mut con, &key, &version(9, 8), "set", "{\"p\":0}", 0),
        0,
        "earlier interval refused"
    );
    assert_eq!(
        set(&mut con, &key, &version(10, 4), "set", "{\"p\":2}", 0),
        0,
        "re-delivery is a no-op"
    );
    let v: String = con.get(&key).unwrap();
    assert_eq!(v, "{\"p\":2}");
    // A deletion below the held version is refused; at the retracted version + 1 it applies.
    assert_eq!(set(&mut con, &key, &version(10, 3), "del", "", 0), 0);
    assert_eq!(set(&mut con, &key, &version(10, 5), "del", "", 0), 1);
    assert!(!con.exists::<_, bool>(&key).unwrap());
    assert_eq!(
        set(&mut con, &key, &version(10, 4), "set", "{\"p\":2}", 0),
        0,
        "deleted stays deleted"
    );
    // Expiry: the value goes, the guard stays and still refuses older data.
    assert_eq!(
        set(&mut con, &key, &version(11, 2), "set", "{\"p\":3}", 1),
        1
    );
    let ttl: i64 = con.ttl(&key).unwrap();
    assert!(ttl > 0 && ttl <= 1, "ttl {ttl}");
    let _: () = redis::cmd("PEXPIRE")
        .arg(&key)
        .arg(1)
        .query(&mut con)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(!con.exists::<_, bool>(&key).unwrap());
    assert_eq!(
        con.ttl::<_, i64>(guard_key(&key)).unwrap(),
        -1,
        "the guard never expires"
    );
    assert_eq!(
        set(&mut con, &key, &version(10, 9), "set", "{\"p\":1}", 0),
        0
    );
    assert!(!con.exists::<_, bool>(&key).unwrap());
    assert_eq!(
        set(&mut con, &key, &version(11, 2), "set", "{\"p\":3}", 0),
        1,
        "same data restores"
    );
    let _: () = con.del(&[key.clone(), guard_key(&key)]).unwrap();
}

#[test]
fn curve_points_merge_into_one_ordered_snapshot() {
    let mut con = connect();
    script::load(&mut con).unwrap();
    let key = unique("tf_curve");
    let call = |con: &mut redis::Connection, ops: &[(&str, &str, &str, &str)]| -> i64 {
        let mut c = redis::cmd("EVALSHA");
        c.arg(script::sha(CURVE))
            .arg(3)
            .arg(&key)
            .arg(points_key(&key))
            .arg(point_versions_key(&key));
        c.arg(0)
            .arg("projection.updates.test")
            .arg("{\"curve_id\":\"C\",\"points\":[");
        for (f, op, v, j) in ops {
            c.arg(*f).arg(*op).arg(*v).arg(*j);
        }
        c.query(con).unwrap()
    };
    let v = |a, b| version(a, b);
    assert_eq!(
        call(
            &mut con,
            &[
                ("2|B", "set", &v(5, 2), "{\"b\":1}"),
                ("1|A", "set", "", "{\"a\":1}")
            ]
        ),
        1
    );
    let snap: String = con.get(&key).unwrap();
    assert_eq!(
        snap,
        "{\"curve_id\":\"C\",\"points\":[{\"a\":1},{\"b\":1}]}"
    );
    // An older price of a priced point is refused; interpolated points follow write order.
    assert_eq!(call(&mut con, &[("2|B", "set", &v(4, 9), "{\"b\":0}")]), 0);
    assert_eq!(call(&mut con, &[("1|A", "set", "", "{\"a\":2}")]), 1);
    assert_eq!(
        call(&mut con, &[("1|A", "set", "", "{\"a\":2}")]),
        0,
        "no change"
    );
    assert_eq!(call(&mut con, &[("2|B", "del", "", "")]), 1);
    let snap: String = con.get(&key).unwrap();
    assert_eq!(snap, "{\"curve_id\":\"C\",\"points\":[{\"a\":2}]}");
    assert_eq!(call(&mut con, &[("1|A", "del", "", "")]), 1);
    assert!(
        !con.exists::<_, bool>(&key).unwrap(),
        "no point left: no snapshot"
    );
    let _: () = con
        .del(&[points_key(&key), point_versions_key(&key)])
        .unwrap();
}
