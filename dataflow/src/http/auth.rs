//! API keys (SPEC §7): with keys configured, `/v1` and `/projections` need
//! `Authorization: Bearer <key>` — 401 without or with a wrong key, 403 for another tenant's
//! data. Keys come from `http.api_keys` / `DATA_PROC_API_KEYS` (`key` = all tenants,
//! `key:tenant` = one tenant) and from the reference table `api_keys` (SPEC §5: `key_sha256` hex,
//! `tenant_id` null = all tenants, `scopes`, `active`, `valid_from`): per key hash the version
//! with the greatest `valid_from` not after the request's time applies, and an inactive version
//! revokes the key. A table key needs the scope of the route (`read` for queries, `subscribe`
//! for `/v1/subscribe`; 403 without); environment keys have every scope.
//!
//! The table is live ([`LiveKeys`]): the reference changes the job receives (SPEC §5: inserts,
//! updates, deactivations within `refresh_interval_ms`) are applied as they arrive, so a key is
//! granted or revoked without a restart, and a version whose `valid_from` lies ahead takes
//! effect when that time comes.
//!
//! Only SHA-256 digests of the keys are held; a presented key is hashed and compared with every
//! configured digest in constant time (no early exit on the first differing byte or the first
//! match), so timing reveals neither which nor how much of a key matched. Keys never appear in
//! logs, errors or `Debug` output.

use crate::config::Secret;
use operators::model::{EpochMs, ReferenceRow};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The API keys of a running job: the configured ones and the live `api_keys` table, with
/// the keys in force, rebuilt when the table changes or the next `valid_from` is reached.
pub struct LiveKeys {
    configured: ApiKeys,
    state: std::sync::RwLock<LiveState>,
}

struct LiveState {
    /// The live `api_keys` rows (every version).
    rows: Vec<ReferenceRow>,
    /// The keys in force, as of `built_ms`.
    keys: ApiKeys,
    built_ms: EpochMs,
    /// The least `valid_from` after `built_ms` (`EpochMs::MAX`: none): rebuild from then on.
    until_ms: EpochMs,
    dirty: bool,
}

impl std::fmt::Debug for LiveKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveKeys")
    }
}

fn wall_ms() -> EpochMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl LiveKeys {
    /// The `configured` keys plus the `api_keys` rows among `rows` (the initial snapshot).
    pub fn new(configured: ApiKeys, rows: &[ReferenceRow]) -> LiveKeys {
        let rows: Vec<ReferenceRow> = rows
            .iter()
            .filter(|r| matches!(r, ReferenceRow::ApiKey(_)))
            .cloned()
            .collect();
        LiveKeys {
            configured,
            state: std::sync::RwLock::new(LiveState {
                rows,
                keys: ApiKeys::default(),
                built_ms: EpochMs::MIN,
                until_ms: EpochMs::MIN,
                dirty: true,
            }),
        }
    }

    /// Applies one reference change (`+1` a row version added, `−1` one removed); rows of
    /// other tables are ignored.
    pub fn apply(&self, row: &ReferenceRow, diff: i64) {
        if !matches!(row, ReferenceRow::ApiKey(_)) || diff == 0 {
            return;
        }
        let Ok(mut st) = self.state.write() else {
            return;
        };
        if diff > 0 {
            st.rows.extend((0..diff).map(|_| row.clone()));
        } else {
            for _ in diff..0 {
                if let Some(i) = st.rows.iter().position(|r| r == row) {
                    st.rows.swap_remove(i);
                }
            }
        }
        st.dirty = true;
    }

    /// [`ApiKeys::authenticate`] with the keys in force now.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        scope: &str,
    ) -> Result<Grant, AuthError> {
        self.authenticate_at(authorization, scope, wall_ms())
    }

    /// [`ApiKeys::authenticate`] with the keys in force at `now_ms`.
    pub fn authenticate_at(
        &self,
        authorization: Option<&str>,
        scope: &str,
        now_ms: EpochMs,
    ) -> Result<Grant, AuthError> {
        let fresh = |st: &LiveState| !st.dirty && st.built_ms <= now_ms && now_ms < st.until_ms;
        if let Ok(st) = self.state.read() {
            if fresh(&st) {
                return st.keys.authenticate(authorization, scope);
            }
        }
        let Ok(mut st) = self.state.write() else {
            return Err(AuthError::Unauthorized);
        };
        if !fresh(&st) {
            st.keys = self.configured.clone().with_table(&st.rows, now_ms);
            st.until_ms = st
                .rows
                .iter()
                .filter_map(|r| match r {
                    ReferenceRow::ApiKey(k) if k.valid_from_ms > now_ms => Some(k.valid_from_ms),
                    _ => None,
                })
                .min()
                .unwrap_or(EpochMs::MAX);
            st.built_ms = now_ms;
            st.dirty = false;
        }
        st.keys.authenticate(authorization, scope)
    }
}

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No, malformed or unknown bearer key: 401.
    #[error("missing or invalid API key (Authorization: Bearer <key>)")]
    Unauthorized,
    /// A valid key of another tenant: 403.
    #[error("this API key may not read tenant data other than its own")]
    Forbidden,
    /// A valid key without the route's scope: 403.
    #[error("this API key lacks the scope this route needs")]
    MissingScope,
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
    keys: Vec<Key>,
}

#[derive(Clone)]
struct Key {
    digest: [u8; 32],
    tenant: Option<String>,
    /// `None`: every scope.
    scopes: Option<Vec<String>>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.keys.len())
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn hex_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
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
                Some((key, tenant)) if !key.is_empty() && !tenant.trim().is_empty() => Key {
                    digest: digest(key),
                    tenant: Some(tenant.trim().to_string()),
                    scopes: None,
                },
                _ => Key {
                    digest: digest(s),
                    tenant: None,
                    scopes: None,
                },
            })
            .collect();
        ApiKeys { keys }
    }

    /// Adds the keys of the `api_keys` rows in `rows` in force at `now_ms` (see the module doc).
    /// A row whose hash is not 64 hex digits is skipped with a warning naming its tenant.
    pub fn with_table(mut self, rows: &[ReferenceRow], now_ms: EpochMs) -> ApiKeys {
        let mut newest: BTreeMap<&str, &operators::model::reference::ApiKey> = BTreeMap::new();
        for row in rows {
            let ReferenceRow::ApiKey(k) = row else {
                continue;
            };
            if k.valid_from_ms > now_ms {
                continue;
            }
            let slot = newest.entry(&k.key_sha256).or_insert(k);
            if (k.valid_from_ms, k.updated_at_ms) > (slot.valid_from_ms, slot.updated_at_ms) {
                *slot = k;
            }
        }
        for k in newest.into_values().filter(|k| k.active) {
            match hex_digest(&k.key_sha256) {
                Some(digest) => self.keys.push(Key {
                    digest,
                    tenant: k.tenant_id.as_deref().map(str::to_string),
                    scopes: Some(k.scopes.clone()),
                }),
                None => tracing::warn!(
                    tenant = ?k.tenant_id,
                    "api_keys: key_sha256 is not 64 hex digits; row skipped"
                ),
            }
        }
        self
    }

    /// True when no key is configured: the API is open.
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// The grant of a request's `Authorization` header value for a route needing `scope`.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        scope: &str,
    ) -> Result<Grant, AuthError> {
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
        let mut found: Option<&Key> = None;
        for k in &self.keys {
            // Every digest is compared: no early exit.
            if same(&k.digest, &d) && found.is_none() {
                found = Some(k);
            }
        }
        let key = found.ok_or(AuthError::Unauthorized)?;
        if key
            .scopes
            .as_ref()
            .is_some_and(|s| !s.iter().any(|x| x.trim() == scope))
        {
            return Err(AuthError::MissingScope);
        }
        Ok(match &key.tenant {
            None => Grant::All,
            Some(t) => Grant::Tenant(t.clone()),
        })
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
        assert_eq!(k.authenticate(None, "read"), Ok(Grant::All));
    }

    #[test]
    fn bearer_keys_grant_all_or_one_tenant() {
        let k = keys();
        assert_eq!(
            k.authenticate(Some("Bearer admin-key"), "read"),
            Ok(Grant::All)
        );
        assert_eq!(
            k.authenticate(Some("bearer  admin-key "), "read"),
            Ok(Grant::All)
        );
        let acme = k.authenticate(Some("Bearer acme-key"), "read").unwrap();
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
            assert_eq!(
                k.authenticate(h, "read"),
                Err(AuthError::Unauthorized),
                "{h:?}"
            );
        }
    }

    fn table_key(
        key: &str,
        tenant: Option<&str>,
        active: bool,
        valid_from_ms: i64,
    ) -> ReferenceRow {
        let hex: String = digest(key).iter().map(|b| format!("{b:02x}")).collect();
        ReferenceRow::ApiKey(operators::model::reference::ApiKey {
            key_sha256: hex.as_str().into(),
            tenant_id: tenant.map(Into::into),
            scopes: vec!["read".into()],
            active,
            valid_from_ms,
            updated_at_ms: valid_from_ms,
        })
    }

    #[test]
    fn live_table_changes_grant_and_revoke_keys_without_a_restart() {
        const T: i64 = 1_800_000_000_000;
        let v1 = table_key("k1", Some("acme"), true, T);
        let live = LiveKeys::new(
            ApiKeys::from_secrets(&[Secret::new("admin")]),
            std::slice::from_ref(&v1),
        );
        let auth =
            |key: &str, at: i64| live.authenticate_at(Some(&format!("Bearer {key}")), "read", at);
        assert_eq!(auth("k1", T), Ok(Grant::Tenant("acme".into())));
        assert_eq!(
            auth("k1", T - 1),
            Err(AuthError::Unauthorized),
            "not valid yet"
        );
        assert_eq!(auth("k2", T), Err(AuthError::Unauthorized));
        // A key added while the job runs applies at once.
        live.apply(&table_key("k2", None, true, T), 1);
        assert_eq!(auth("k2", T + 1), Ok(Grant::All));
        // A deactivation (the old version retracted, an inactive one added) revokes it.
        live.apply(&v1, -1);
        live.apply(&table_key("k1", Some("acme"), false, T + 10), 1);
        assert_eq!(auth("k1", T + 10), Err(AuthError::Unauthorized));
        // A version valid only later takes effect when its time comes, without a change.
        live.apply(&table_key("k3", Some("beta"), true, T + 100), 1);
        assert_eq!(auth("k3", T + 99), Err(AuthError::Unauthorized));
        assert_eq!(auth("k3", T + 100), Ok(Grant::Tenant("beta".into())));
        // Configured keys stay.
        assert_eq!(auth("admin", T + 100), Ok(Grant::All));
        live.apply(&table_key("k2", None, true, T), -1);
        assert_eq!(auth("k2", T + 101), Err(AuthError::Unauthorized));
    }

    #[test]
    fn table_keys_apply_newest_version_scopes_and_revocation() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reference");
        let rows = connectors::reference::load_dir(&dir).unwrap();
        let k = ApiKeys::from_secrets(&[]).with_table(&rows, 1_800_000_000_000);
        // The bundled test keys (reference/README.md).
        let user = k.authenticate(Some("Bearer tickflow-test-key"), "subscribe");
        assert_eq!(user, Ok(Grant::Tenant("default".into())));
        let admin = k.authenticate(Some("Bearer tickflow-admin-test-key"), "read");
        assert_eq!(admin, Ok(Grant::All));
        let revoked = k.authenticate(Some("Bearer tickflow-revoked-test-key"), "read");
        assert_eq!(revoked, Err(AuthError::Unauthorized));
        // Before the keys' valid_from there is none: the API would be open.
        assert!(ApiKeys::from_secrets(&[]).with_table(&rows, 0).is_open());
        // A table key without the route's scope.
        let mut row = rows
            .iter()
            .find_map(|r| match r {
                ReferenceRow::ApiKey(a) if a.active => Some(a.clone()),
                _ => None,
            })
            .unwrap();
        row.scopes = vec!["read".into()];
        row.key_sha256 = std::sync::Arc::from(hex(&digest("reader")));
        let k = ApiKeys::from_secrets(&[]).with_table(&[ReferenceRow::ApiKey(row)], i64::MAX);
        assert!(k.authenticate(Some("Bearer reader"), "read").is_ok());
        let e = k.authenticate(Some("Bearer reader"), "subscribe");
        assert_eq!(e, Err(AuthError::MissingScope));
        assert_eq!(hex_digest("zz"), None);
    }

    fn hex(d: &[u8; 32]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn debug_shows_no_key_material() {
        let text = format!("{:?}", keys());
        assert_eq!(text, "ApiKeys(2 keys)");
    }
}
