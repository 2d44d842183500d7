//! Secrets that cannot leak by accident. [`Secret`] holds a password or key; [`SecretUrl`] holds a
//! connection string (URL or libpq `key=value` DSN) whose password part is the secret. Their
//! `Debug`, `Display` and `Serialize` all mask: a secret shows as `***` (empty stays empty, so an
//! unset secret is visible as unset), a URL as `postgres://user:***@host/db`. The real value is only
//! reachable through `expose()`, which the code that opens connections calls.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// The mask written in place of a secret.
pub const MASK: &str = "***";

/// A secret string (password, API key). Never printed, logged or serialized in clear.
#[derive(Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret in clear, for the one place that hands it to a client library.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn masked(&self) -> &'static str {
        if self.0.is_empty() {
            ""
        } else {
            MASK
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({:?})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.masked())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.masked())
    }
}

/// A connection string whose embedded password is secret (`postgres://u:PASS@h/db`,
/// `redis://:PASS@h:6379/0`, `host=h password=PASS`). Shown with the password masked.
#[derive(Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps a connection string.
    pub fn new(value: impl Into<String>) -> SecretUrl {
        SecretUrl(value.into())
    }

    /// The connection string in clear, for the client library.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The connection string with its password masked.
    pub fn masked(&self) -> String {
        mask_dsn(&self.0)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({:?})", self.masked())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

/// Query and `key=value` parameters whose values are secrets.
const SECRET_PARAMS: [&str; 4] = ["password", "sslpassword", "pass", "pwd"];

/// Masks the password of a URL (`scheme://user:PASS@host…`, and `?password=` parameters) or of a
/// libpq `key=value` DSN. Anything unrecognised is returned unchanged: it carries no password
/// field to mask.
pub fn mask_dsn(s: &str) -> String {
    match s.find("://") {
        Some(i) => mask_url(s, i),
        None if s.contains('=') => mask_key_values(s),
        None => s.to_string(),
    }
}

fn mask_url(s: &str, scheme_end: usize) -> String {
    let (head, rest) = s.split_at(scheme_end + 3);
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let mut out = String::from(head);
    // userinfo ends at the LAST '@' of the authority: a password may itself contain '@'.
    match authority.rfind('@') {
        Some(at) => {
            let (userinfo, hostport) = authority.split_at(at);
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push(':');
                    out.push_str(MASK);
                }
                None => out.push_str(userinfo),
            }
            out.push_str(hostport);
        }
        None => out.push_str(authority),
    }
    match tail.find('?') {
        Some(q) => {
            out.push_str(&tail[..=q]);
            let query = &tail[q + 1..];
            let (query, fragment) = match query.find('#') {
                Some(h) => query.split_at(h),
                None => (query, ""),
            };
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if is_secret_param(k) => format!("{k}={MASK}"),
                    _ => p.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
            out.push_str(fragment);
        }
        None => out.push_str(tail),
    }
    out
}

fn is_secret_param(k: &str) -> bool {
    SECRET_PARAMS
        .iter()
        .any(|p| k.trim().eq_ignore_ascii_case(p))
}

/// Masks `password=…` in a libpq DSN; values may be single-quoted with `\'` escapes.
fn mask_key_values(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            out.push_str(rest);
            break;
        };
        let key = rest[..eq].trim_end();
        let key_start = key.rfind(char::is_whitespace).map_or(0, |w| w + 1);
        let secret = is_secret_param(&key[key_start..]);
        out.push_str(&rest[..=eq]);
        let after = rest[eq + 1..].trim_start();
        out.push_str(&rest[eq + 1..eq + 1 + (rest.len() - eq - 1 - after.len())]);
        let value_len = value_len(after);
        if secret {
            out.push_str(MASK);
        } else {
            out.push_str(&after[..value_len]);
        }
        rest = &after[value_len..];
    }
    out
}

/// Byte length of a libpq value at the start of `s`: quoted up to the closing quote, else up to
/// the next blank.
fn value_len(s: &str) -> usize {
    if let Some(body) = s.strip_prefix('\'') {
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '\'' if !escaped => return i + 2,
                _ => escaped = false,
            }
        }
        s.len()
    } else {
        s.find(char::is_whitespace).unwrap_or(s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_mask_password_only() {
        let cases = [
            (
                "postgres://user:s3cr@t@db:5432/x",
                "postgres://user:***@db:5432/x",
            ),
            (
                "postgresql://localhost:5432/data_proc",
                "postgresql://localhost:5432/data_proc",
            ),
            ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
            ("redis://alice@cache", "redis://alice@cache"),
            (
                "rediss://u:p@h?password=p2&db=1#f",
                "rediss://u:***@h?password=***&db=1#f",
            ),
            (
                "http://h:8123/?user=a&PASSWORD=x",
                "http://h:8123/?user=a&PASSWORD=***",
            ),
            ("", ""),
        ];
        for (given, want) in cases {
            assert_eq!(mask_dsn(given), want, "{given}");
        }
    }

    #[test]
    fn key_value_dsns_mask_password() {
        assert_eq!(
            mask_dsn("host=db user=u password=pw dbname=x"),
            "host=db user=u password=*** dbname=x"
        );
        assert_eq!(
            mask_dsn("host=db password = 'a b\\' c' sslmode=require"),
            "host=db password = *** sslmode=require"
        );
        assert_eq!(mask_dsn("password="), "password=***");
    }

    #[test]
    fn debug_display_serialize_mask() {
        let s = Secret::new("topsecret");
        assert_eq!(format!("{s:?} {s}"), "Secret(\"***\") ***");
        assert_eq!(s.expose(), "topsecret");
        assert_eq!(format!("{:?}", Secret::default()), "Secret(\"\")");
        let u = SecretUrl::new("postgres://u:topsecret@h/db");
        assert!(!format!("{u:?} {u}").contains("topsecret"));
        let v = toml::Value::try_from(&u).unwrap();
        assert_eq!(v.as_str(), Some("postgres://u:***@h/db"));
    }
}
