//! API keys (SPEC §7): with keys configured, `/v1` and `/projections` need
//! `Authorization: Bearer <key>` — 401 without or with a wrong key, 403 for another tenant's
//! data. Keys come from `http.api_keys` / `DATA_PROC_API_KEYS` (`key` = all tenants,
//! `key:tenant` = one tenant).
//!
//! Only SHA-256 digests of the keys are held; a presented key is hashed and compared with every
//! configured digest in constant time (no early exit on the first differing byte or the first
//! match), so timing reveals neither which nor how much of a key matched. Keys never appear in
//! logs, errors or `Debug` output.

use crate::config::Secret;
use sha2::{Digest, Sha256};

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No, malformed or unknown bearer key: 401.
    #[error("missing or invalid API key (Authorization: Bearer <key>)")]
    Unauthorized,
    /// A valid key of another tenant: 403.
    #[error("this API key may not read tenant data other than its own")]
    Forbidden,
}

/// Who a key lets read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Every tenant (no keys configured, or a key without tenant).
    All,
    /// One tenant.
    Tenant(String),
}

impl Grant {
    /// Checks that this grant may read `tenant`.
    pub fn allows(&self, tenant: &str) -> Result<(), AuthError> {
        match self {
            Grant::All => Ok(()),
            Grant::Tenant(t) if t == tenant => Ok(()),
            Grant::Tenant(_) => Err(AuthError::Forbidden),
        }
    }
}

/// The configured keys as digests.
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Vec<([u8; 32], Option<String>)>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.keys.len())
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ApiKeys {
    /// Keys from `key` / `key:tenant` entries (blank entries are skipped).
    pub fn from_secrets(secrets: &[Secret]) -> ApiKeys {
        let keys = secrets
            .iter()
            .map(|s| s.expose().trim())
            .filter(|s| !s.is_empty())
            .map(|s| match s.rsplit_once(':') {
                Some((key, tenant)) if !key.is_empty() && !tenant.trim().is_empty() => {
                    (digest(key), Some(tenant.trim().to_string()))
                }
                _ => (digest(s), None),
            })
            .collect();
        ApiKeys { keys }
    }

    /// True when no key is configured: the API is open.
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// The grant of a request's `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Grant, AuthError> {
        if self.is_open() {
            return Ok(Grant::All);
        }
        let presented = authorization
            .and_then(|h| {
                let (scheme, key) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
            })
            .filter(|k| !k.is_empty())
            .ok_or(AuthError::Unauthorized)?;
        let d = digest(presented);
        let mut found: Option<&Option<String>> = None;
        for (k, tenant) in &self.keys {
            // Every digest is compared: no early exit.
            if same(k, &d) && found.is_none() {
                found = Some(tenant);
            }
        }
        match found {
            Some(None) => Ok(Grant::All),
            Some(Some(t)) => Ok(Grant::Tenant(t.clone())),
            None => Err(AuthError::Unauthorized),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ApiKeys {
        ApiKeys::from_secrets(&[
            Secret::new("admin-key"),
            Secret::new("acme-key:acme"),
            Secret::new(" "),
        ])
    }

    #[test]
    fn open_without_keys() {
        let k = ApiKeys::from_secrets(&[]);
        assert!(k.is_open());
        assert_eq!(k.authenticate(None), Ok(Grant::All));
    }

    #[test]
    fn bearer_keys_grant_all_or_one_tenant() {
        let k = keys();
        assert_eq!(k.authenticate(Some("Bearer admin-key")), Ok(Grant::All));
        assert_eq!(k.authenticate(Some("bearer  admin-key ")), Ok(Grant::All));
        let acme = k.authenticate(Some("Bearer acme-key")).unwrap();
        assert_eq!(acme, Grant::Tenant("acme".into()));
        assert_eq!(acme.allows("acme"), Ok(()));
        assert_eq!(acme.allows("default"), Err(AuthError::Forbidden));
        assert_eq!(Grant::All.allows("acme"), Ok(()));
    }

    #[test]
    fn missing_wrong_or_malformed_keys_are_unauthorized() {
        let k = keys();
        for h in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic admin-key"),
            Some("Bearer admin-key2"),
            Some("Bearer acme-key:acme"),
            Some("admin-key"),
        ] {
            assert_eq!(k.authenticate(h), Err(AuthError::Unauthorized), "{h:?}");
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let text = format!("{:?}", keys());
        assert_eq!(text, "ApiKeys(2 keys)");
    }
}
