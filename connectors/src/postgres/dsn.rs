//! [`PgDsn`]: a PostgreSQL connection string as the user wrote it (URL or libpq `key=value`),
//! kept secret, and the TLS options tickflow reads from it itself.
//!
//! The client library understands `sslmode=disable|prefer|require`; tickflow adds libpq's
//! `sslmode=verify-ca|verify-full` and `sslrootcert=PATH` by taking them out of the string before
//! it is parsed (see [`split_tls`]). Every other option (`options`, `connect_timeout`,
//! `application_name`, `target_session_attrs`, …) passes through untouched. Nothing here ever
//! formats the password: [`PgDsn`]'s `Debug` is masked and [`mask_password`] scrubs messages.

use std::fmt;
use std::path::PathBuf;

/// A connection string whose password must never be shown.
#[derive(Clone, PartialEq, Eq)]
pub struct PgDsn(String);

impl PgDsn {
    /// Wraps a connection string.
    pub fn new(dsn: impl Into<String>) -> PgDsn {
        PgDsn(dsn.into())
    }

    /// The string itself: only for the client library, never for a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The string with its password replaced by `***` (for logs).
    pub fn masked(&self) -> String {
        mask_password(&self.0, &self.0)
    }
}

impl fmt::Debug for PgDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgDsn({:?})", self.masked())
    }
}

/// How far the server's certificate is checked (libpq's `sslmode` levels above `require`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Encrypt only (`prefer`, `require` without a root certificate), as libpq does.
    None,
    /// The chain must lead to a trusted root (`verify-ca`, or `require` with `sslrootcert`).
    Ca,
    /// The chain and the host name (`verify-full`).
    Full,
}

/// TLS settings taken out of the connection string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptions {
    /// Certificate checking.
    pub verify: Verify,
    /// PEM file of the trusted roots (`sslrootcert`); `None` = the system's.
    pub root_cert: Option<PathBuf>,
}

/// The `key=value` items of a connection string: a URL's query or libpq's space-separated pairs
/// (quoted values are left alone: they never hold the keys read here).
fn items(dsn: &str) -> Vec<&str> {
    if is_url(dsn) {
        dsn.split_once('?')
            .map(|(_, q)| q.split('&').collect())
            .unwrap_or_default()
    } else {
        dsn.split_whitespace().collect()
    }
}

fn is_url(dsn: &str) -> bool {
    dsn.starts_with("postgres://") || dsn.starts_with("postgresql://")
}

/// Removes `sslrootcert` and a `verify-*` `sslmode` from `dsn` (the latter becomes
/// `sslmode=require` for the client library) and returns them as [`TlsOptions`]. A string
/// without them is returned unchanged.
pub fn split_tls(dsn: &str) -> (String, TlsOptions) {
    let mut out = dsn.to_string();
    let mut opts = TlsOptions {
        verify: Verify::None,
        root_cert: None,
    };
    for item in items(dsn) {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        let replacement = match (key.trim(), value.trim()) {
            ("sslrootcert", path) => {
                opts.root_cert = Some(PathBuf::from(percent_decode(path)));
                ""
            }
            ("sslmode", "verify-ca") => {
                opts.verify = Verify::Ca;
                "sslmode=require"
            }
            ("sslmode", "verify-full") => {
                opts.verify = Verify::Full;
                "sslmode=require"
            }
            _ => continue,
        };
        out = out.replacen(item, replacement, 1);
    }
    if opts.root_cert.is_some() && opts.verify == Verify::None {
        opts.verify = Verify::Ca;
    }
    if is_url(&out) {
        // Tidy the query left by removed items (`?&a=1&&b=2&` → `?a=1&b=2`).
        if let Some((base, query)) = out.clone().split_once('?') {
            let kept: Vec<&str> = query.split('&').filter(|s| !s.is_empty()).collect();
            out = if kept.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", kept.join("&"))
            };
        }
    }
    (out, opts)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password written in `dsn` (URL user-info or `password=`), if any.
fn password(dsn: &str) -> Option<&str> {
    if is_url(dsn) {
        let rest = dsn.split_once("://")?.1;
        let authority = rest.split(['/', '?']).next()?;
        let userinfo = authority.rsplit_once('@')?.0;
        let pass = userinfo.split_once(':')?.1;
        return (!pass.is_empty()).then_some(pass);
    }
    let at = dsn.find("password=")?;
    let value = &dsn[at + "password=".len()..];
    let value = match value.strip_prefix('\'') {
        Some(quoted) => &quoted[..quoted.find('\'').unwrap_or(quoted.len())],
        None => value.split_whitespace().next().unwrap_or(""),
    };
    (!value.is_empty()).then_some(value)
}

/// `message` with every occurrence of `dsn`'s password (raw and percent-decoded) replaced by `***`.
pub fn mask_password(message: &str, dsn: &str) -> String {
    let Some(pass) = password(dsn) else {
        return message.to_string();
    };
    let decoded = percent_decode(pass);
    let mut out = message.replace(pass, "***");
    if !decoded.is_empty() {
        out = out.replace(&decoded, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_and_root_cert_are_taken_out() {
        let (s, o) =
            split_tls("postgres://u:p@h:5432/db?sslmode=verify-full&sslrootcert=%2Fa%2Fca.pem");
        assert_eq!(s, "postgres://u:p@h:5432/db?sslmode=require");
        assert_eq!(o.verify, Verify::Full);
        assert_eq!(o.root_cert, Some(PathBuf::from("/a/ca.pem")));
        let (s, o) = split_tls("host=h sslrootcert=/ca.pem sslmode=require dbname=x");
        assert_eq!(s, "host=h  sslmode=require dbname=x");
        assert_eq!(o.verify, Verify::Ca);
        let (s, o) = split_tls("host=h sslmode=verify-ca");
        assert_eq!(
            (s.as_str(), o.verify),
            ("host=h sslmode=require", Verify::Ca)
        );
    }

    #[test]
    fn other_strings_are_unchanged() {
        for dsn in [
            "postgres://u:p@h/db?sslmode=disable&options=-csearch_path%3Dx",
            "host=h port=1 password='a b' sslmode=prefer",
            "postgresql://localhost/db",
        ] {
            let (s, o) = split_tls(dsn);
            assert_eq!(s, dsn);
            assert_eq!(o.verify, Verify::None);
        }
    }

    #[test]
    fn passwords_are_masked() {
        let url = "postgres://user:s3cr%40t@db:5432/x";
        assert_eq!(
            mask_password("failed s3cr%40t s3cr@t", url),
            "failed *** ***"
        );
        assert_eq!(PgDsn::new(url).masked(), "postgres://user:***@db:5432/x");
        let kv = "host=h password='pa ss' user=u";
        assert_eq!(mask_password("x pa ss y", kv), "x *** y");
        assert_eq!(
            format!("{:?}", PgDsn::new("host=h password=hunter2")),
            "PgDsn(\"host=h password=***\")"
        );
        assert_eq!(mask_password("no secret", "host=h"), "no secret");
    }
}
