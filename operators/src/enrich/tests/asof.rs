//! As-of lookups over versions.

use super::{instrument, ms};
use crate::enrich::asof::Versions;
use crate::model::reference::TaxonomyInstrument;

fn two_versions() -> Versions<TaxonomyInstrument> {
    let mut v = Versions::default();
    // Inserted newest first: order of arrival must not matter.
    v.apply(instrument("X", "2024-06-01T00:00:00Z", "v2"), 1);
    v.apply(instrument("X", "2024-01-01T00:00:00Z", "v1"), 1);
    v
}

fn tier(v: Option<&TaxonomyInstrument>) -> Option<&str> {
    v.and_then(|r| r.product_tier.as_deref())
}

#[test]
fn before_first_version_uses_the_first() {
    let v = two_versions();
    assert_eq!(tier(v.at(ms("2023-12-31T23:59:59Z"))), Some("v1"));
    assert_eq!(tier(v.at(i64::MIN)), Some("v1"));
    assert_eq!(tier(v.at_or_before(ms("2023-12-31T23:59:59Z"))), None);
}

#[test]
fn between_and_exactly_at_valid_from() {
    let v = two_versions();
    assert_eq!(tier(v.at(ms("2024-01-01T00:00:00Z"))), Some("v1"));
    assert_eq!(tier(v.at(ms("2024-05-31T23:59:59.999Z"))), Some("v1"));
    assert_eq!(tier(v.at(ms("2024-06-01T00:00:00Z"))), Some("v2"));
    assert_eq!(tier(v.at(ms("2030-01-01T00:00:00Z"))), Some("v2"));
    assert_eq!(tier(v.current()), Some("v2"));
    assert_eq!(v.len(), 2);
}

#[test]
fn deactivated_version_is_deleted() {
    let mut v = two_versions();
    // Deactivation arrives as −1 of the active row (+1 of the inactive row changes nothing).
    let mut gone = instrument("X", "2024-06-01T00:00:00Z", "v2");
    v.apply(gone.clone(), -1);
    gone.active = false;
    v.apply(gone, 1);
    assert_eq!(tier(v.at(ms("2024-07-01T00:00:00Z"))), Some("v1"));
    v.apply(instrument("X", "2024-01-01T00:00:00Z", "v1"), -1);
    assert!(v.is_empty() && v.is_vacant());
    assert_eq!(v.at(ms("2024-07-01T00:00:00Z")), None);
}

#[test]
fn retraction_before_insertion_cancels() {
    let mut v = Versions::default();
    let old = instrument("X", "2024-01-01T00:00:00Z", "old");
    let new = instrument("X", "2024-01-01T00:00:00Z", "new");
    // An update delivered as (+1 new) then (−1 old) after old was present ...
    v.apply(old.clone(), 1);
    v.apply(new.clone(), 1);
    v.apply(old.clone(), -1);
    assert_eq!(tier(v.at(0)), Some("new"));
    // ... and a retraction that overtakes its insertion: never visible, then cancelled.
    let mut w = Versions::default();
    w.apply(old.clone(), -1);
    assert!(w.is_empty() && !w.is_vacant());
    assert_eq!(w.at(0), None);
    w.apply(old, 1);
    assert!(w.is_vacant());
}

#[test]
fn equal_valid_from_resolves_by_updated_at() {
    let mut v = Versions::default();
    let mut a = instrument("X", "2024-01-01T00:00:00Z", "a");
    let mut b = instrument("X", "2024-01-01T00:00:00Z", "b");
    a.updated_at_ms = 20;
    b.updated_at_ms = 10;
    v.apply(a.clone(), 1);
    v.apply(b.clone(), 1);
    assert_eq!(tier(v.at(ms("2024-02-01T00:00:00Z"))), Some("a"));
    let mut w = Versions::default();
    w.apply(b, 1);
    w.apply(a, 1);
    assert_eq!(tier(w.at(ms("2024-02-01T00:00:00Z"))), Some("a"));
}
