//! A connection gets a server-side statement timeout unless the DSN sets one, without losing the
//! DSN's own `options`; a statement running past it fails instead of blocking the caller.

use crate::support::{base_dsn, with_schema};
use connectors::postgres::{connect, PgDsn};
use std::time::{Duration, Instant};

fn show(client: &mut postgres::Client, setting: &str) -> String {
    let row = client.query_one(&format!("SHOW {setting}"), &[]).unwrap();
    row.get(0)
}

#[test]
fn connections_get_a_statement_timeout_and_keep_their_own_options() {
    let dsn = with_schema(&base_dsn(), "timeouts_probe");
    let mut c = connect(&PgDsn::new(dsn)).unwrap();
    assert_eq!(show(&mut c, "statement_timeout"), "30s");
    assert_eq!(show(&mut c, "search_path"), "timeouts_probe");
}

#[test]
fn a_statement_past_the_dsn_timeout_fails_promptly() {
    let base = base_dsn();
    let dsn = if base.starts_with("postgres://") || base.starts_with("postgresql://") {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-cstatement_timeout%3D300")
    } else {
        format!("{base} options='-c statement_timeout=300'")
    };
    let mut c = connect(&PgDsn::new(dsn)).unwrap();
    assert_eq!(show(&mut c, "statement_timeout"), "300ms");
    let started = Instant::now();
    let err = c.execute("SELECT pg_sleep(5)", &[]).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err.code(),
        Some(&postgres::error::SqlState::QUERY_CANCELED),
        "{err:?}"
    );
}
