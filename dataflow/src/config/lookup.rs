//! Matching TOML paths and environment names against the key table, with "did you mean"
//! suggestions for near misses.

use super::keys::{Key, KEYS};
use operators::model::Market;

/// Placeholder segment for a market code.
pub(crate) const MARKET: &str = "{MARKET}";

/// What a TOML path is, according to the key table.
pub(crate) enum Lookup {
    /// A configuration key.
    Leaf(&'static Key),
    /// A table that contains keys.
    Branch,
    /// Nothing; with a hint for the message.
    Unknown(Option<String>),
}

fn is_market(seg: &str) -> bool {
    Market::ISOS.iter().any(|m| m.code() == seg)
}

fn seg_matches(pattern: &str, seg: &str) -> bool {
    match pattern {
        MARKET => is_market(seg),
        "{SOURCE}" | "{TOPIC}" => true,
        _ => pattern == seg,
    }
}

fn prefix_matches(pattern: &[&str], path: &[String]) -> bool {
    pattern.len() >= path.len() && pattern.iter().zip(path).all(|(p, s)| seg_matches(p, s))
}

/// Classifies a TOML path (segments, as written in the file).
pub(crate) fn lookup(path: &[String]) -> Lookup {
    let mut branch = false;
    for key in KEYS {
        let pattern: Vec<&str> = key.path.split('.').collect();
        if prefix_matches(&pattern, path) {
            if pattern.len() == path.len() {
                return Lookup::Leaf(key);
            }
            branch = true;
        }
    }
    if branch {
        Lookup::Branch
    } else {
        Lookup::Unknown(hint(path))
    }
}

/// Why `path` is unknown: a bad market code, or the closest sibling key name.
fn hint(path: &[String]) -> Option<String> {
    let (last, parent) = path.split_last()?;
    let mut siblings: Vec<&str> = Vec::new();
    for key in KEYS {
        let pattern: Vec<&str> = key.path.split('.').collect();
        if pattern.len() > parent.len() && prefix_matches(&pattern[..parent.len()], parent) {
            siblings.push(pattern[parent.len()]);
        }
    }
    if siblings.contains(&MARKET) {
        let codes: Vec<&str> = Market::ISOS.iter().map(|m| m.code()).collect();
        return Some(format!(
            "not a market code; use one of {}",
            codes.join(", ")
        ));
    }
    closest(last, siblings.into_iter()).map(|s| format!("did you mean `{s}`?"))
}

/// Finds the key of an environment variable, with the TOML path it sets.
pub(crate) fn lookup_env(name: &str) -> Option<(&'static Key, Vec<String>)> {
    for key in KEYS {
        let Some(env) = key.env else { continue };
        let pattern: Vec<String> = key.path.split('.').map(String::from).collect();
        if !env.contains(MARKET) {
            if env == name {
                return Some((key, pattern));
            }
            continue;
        }
        for market in Market::ISOS {
            if env.replace(MARKET, market.code()) == name {
                let path = pattern
                    .iter()
                    .map(|s| {
                        if s == MARKET {
                            market.code().to_string()
                        } else {
                            s.clone()
                        }
                    })
                    .collect();
                return Some((key, path));
            }
        }
    }
    None
}

/// Every environment variable name the table accepts (placeholders expanded).
pub(crate) fn env_names() -> impl Iterator<Item = String> {
    KEYS.iter().filter_map(|k| k.env).flat_map(|env| {
        if env.contains(MARKET) {
            Market::ISOS
                .iter()
                .map(|m| env.replace(MARKET, m.code()))
                .collect::<Vec<_>>()
        } else {
            vec![env.to_string()]
        }
    })
}

/// The candidate nearest to `word` (edit distance at most a third of its length, and ≥ 1).
pub(crate) fn closest<S: AsRef<str>>(word: &str, candidates: impl Iterator<Item = S>) -> Option<S> {
    let limit = (word.len() / 3).max(1);
    candidates
        .map(|c| (edit_distance(word, c.as_ref()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j] = distance between a[..i] and b[..j]
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Renders a path as TOML would (`aggregation.sources."kafka:x.y".idle_timeout_ms`).
pub(crate) fn display_path(path: &[String]) -> String {
    path.iter()
        .map(|s| {
            let bare = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if bare {
                s.clone()
            } else {
                format!("{s:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn paths_classify() {
        assert!(matches!(lookup(&segs(&["aggregation"])), Lookup::Branch));
        assert!(matches!(
            lookup(&segs(&["aggregation", "markets", "PJM"])),
            Lookup::Branch
        ));
        assert!(matches!(
            lookup(&segs(&["aggregation", "sources", "kafka:a.b", "idle_timeout_ms"])),
            Lookup::Leaf(k) if k.path == "aggregation.sources.{SOURCE}.idle_timeout_ms"
        ));
        let Lookup::Unknown(Some(h)) = lookup(&segs(&["aggregation", "markets", "XYZ"])) else {
            panic!("XYZ is no market")
        };
        assert!(h.starts_with("not a market code"), "{h}");
        let Lookup::Unknown(Some(h)) = lookup(&segs(&["http", "prot"])) else {
            panic!()
        };
        assert_eq!(h, "did you mean `port`?");
        assert!(matches!(lookup(&segs(&["nope"])), Lookup::Unknown(None)));
    }

    #[test]
    fn env_names_resolve() {
        let (k, p) = lookup_env("DATA_PROC_AGGREGATION_MAX_LATE_MS").unwrap();
        assert_eq!(
            (k.path, p.join(".")),
            (
                "aggregation.allowed_lateness_ms",
                "aggregation.allowed_lateness_ms".into()
            )
        );
        let (_, p) = lookup_env("DATA_PROC_NORMALIZATION_MARKETS_ERCOT_MAX_PRICE").unwrap();
        assert_eq!(p.join("."), "normalization.markets.ERCOT.max_price");
        assert!(lookup_env("DATA_PROC_NOPE").is_none());
        let names: Vec<String> = env_names().collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "env names are unique");
        assert!(names.iter().all(|n| n.starts_with("DATA_PROC_")));
        assert_eq!(display_path(&segs(&["a", "kafka:x.y"])), "a.\"kafka:x.y\"");
    }
}
