//! The process's health registry (SPEC §7 `/health`, `/health/ready`): one check per source
//! kind (`source:file`, `source:generator`, `source:kafka`), per sink kind (`sink:redis`, …) and
//! for the reference data (`reference`). The runtime, the sink driver and the source report
//! into it; the HTTP routes (`http::health`) read it.
//!
//! A check is `starting` until first reported, `up` after a success and `down` with its last
//! error after a failure (the error stays visible as `last_error` after recovery). Error texts
//! come from the clients' errors, which never carry credentials (the configuration hands them
//! over separately, `config::Secret`); [`redact`] masks a URL's user info anyway, so no error
//! text shown here can reveal a password. Checks are few (one per kind), so one mutex is
//! enough; a poisoned mutex is recovered, never propagated.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

/// The state of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Registered, not reported yet.
    Starting,
    /// Working.
    Up,
    /// Failing (see `last_error`).
    Down,
}

/// One check as reported at `/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Current state.
    pub status: Status,
    /// The last error reported, kept after recovery.
    pub last_error: Option<String>,
    /// Wall-clock time of the last error (Unix ms).
    pub last_error_at_ms: Option<i64>,
    /// Extra facts (rows loaded, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The whole registry as reported at `/health`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `up` when every check is up, else `down`.
    pub status: Status,
    /// See [`ready`].
    pub ready: bool,
    /// Every check by name.
    pub checks: BTreeMap<String, Check>,
}

static CHECKS: LazyLock<Mutex<BTreeMap<String, Check>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

fn checks() -> MutexGuard<'static, BTreeMap<String, Check>> {
    CHECKS.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Registers `name` as starting (keeps it as it is when already registered).
pub fn register(name: &str) {
    checks().entry(name.to_string()).or_insert(Check {
        status: Status::Starting,
        last_error: None,
        last_error_at_ms: None,
        detail: None,
    });
}

/// Reports `name` working (registers it if needed).
pub fn up(name: &str) {
    register(name);
    if let Some(c) = checks().get_mut(name) {
        c.status = Status::Up;
    }
}

/// Reports `name` working with a fact to show (rows loaded, …).
pub fn up_with(name: &str, detail: String) {
    up(name);
    if let Some(c) = checks().get_mut(name) {
        c.detail = Some(detail);
    }
}

/// Reports `name` failing with `error` (registers it if needed).
pub fn down(name: &str, error: &str) {
    register(name);
    if let Some(c) = checks().get_mut(name) {
        c.status = Status::Down;
        c.last_error = Some(redact(error));
        c.last_error_at_ms = Some(now_ms());
    }
}

/// Reports `name` only if it is registered (a reader that does not know which sources the job
/// has can report the Kafka check without inventing one).
pub fn report_if_registered(name: &str, result: Result<(), &str>) {
    if !checks().contains_key(name) {
        return;
    }
    match result {
        Ok(()) => up(name),
        Err(e) => down(name, e),
    }
}

/// Ready: the reference data is loaded and every source is connected (SPEC §7). Sinks do not
/// decide readiness (a sink that is down makes the job wait, it does not lose data); they show
/// in [`report`]'s overall status.
pub fn ready() -> bool {
    let checks = checks();
    let reference = checks
        .get("reference")
        .is_some_and(|c| c.status == Status::Up);
    let mut sources = checks
        .iter()
        .filter(|(k, _)| k.starts_with("source:"))
        .peekable();
    let any = sources.peek().is_some();
    reference && any && sources.all(|(_, c)| c.status == Status::Up)
}

/// Every check and the overall status.
pub fn report() -> Report {
    let ready = ready();
    let checks = checks().clone();
    let all_up = !checks.is_empty() && checks.values().all(|c| c.status == Status::Up);
    Report {
        status: if all_up { Status::Up } else { Status::Down },
        ready,
        checks,
    }
}

/// `error` with the user info of any URL in it (`scheme://user:password@host`) masked.
pub fn redact(error: &str) -> String {
    let mut out = String::with_capacity(error.len());
    let mut rest = error;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = tail.get(..end).unwrap_or("");
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***@");
                out.push_str(authority.get(at + 1..).unwrap_or(""));
            }
            None => out.push_str(authority),
        }
        rest = tail.get(end..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_masks_user_info_only() {
        assert_eq!(
            redact("cannot reach redis://:hunter2@127.0.0.1:1/0 (refused)"),
            "cannot reach redis://***@127.0.0.1:1/0 (refused)"
        );
        assert_eq!(
            redact("http://u:p@h:8123 and postgres://x@y/db"),
            "http://***@h:8123 and postgres://***@y/db"
        );
        assert_eq!(redact("plain error"), "plain error");
        assert_eq!(redact("http://host:1/x"), "http://host:1/x");
    }
}
