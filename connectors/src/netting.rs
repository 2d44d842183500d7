//! Nets the keyed updates a sink buffers between two writes to its server.
//!
//! Views deliver a change as `−1 old, +1 new` (in either order) at one timely time. A keyed sink
//! (ClickHouse, Redis) only needs the last state of each key: a `+1` sets the key's pending
//! value; a `−1` cancels the pending value it equals, or, when nothing replaces it, records a
//! retraction ("tomb") of the value the server holds. A tomb is final only once its time is
//! complete (no `+1` of the same time can follow), so a partial drain (a batch that reached its
//! size) hands out live values only, and a drain up to a frontier hands out the tombs of times
//! before it. Pure data structure: no I/O, never fails.

use rustc_hash::FxBuildHasher;

/// hashbrown's map: `extract_if` hands the drained keys out without cloning them.
type FxHashMap<K, V> = hashbrown::HashMap<K, V, FxBuildHasher>;

/// The state a drained key must take on the server.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Net<V> {
    /// The key holds this value.
    Live(V),
    /// The key's value (this one, the last retracted) is gone.
    Retracted(V),
}

#[derive(Debug)]
struct Entry<V> {
    live: Option<V>,
    tomb: Option<(V, u64)>,
}

/// Pending keyed updates of one sink.
#[derive(Debug)]
pub struct Netting<V> {
    entries: FxHashMap<String, Entry<V>>,
}

impl<V> Default for Netting<V> {
    fn default() -> Self {
        Netting {
            entries: FxHashMap::default(),
        }
    }
}

impl<V: PartialEq> Netting<V> {
    /// Applies one update of `key` at timely time `time`.
    pub fn apply(&mut self, key: String, value: V, diff: i64, time: u64) {
        let e = self.entries.entry(key).or_insert(Entry {
            live: None,
            tomb: None,
        });
        if diff > 0 {
            e.live = Some(value);
        } else if diff < 0 {
            match &e.live {
                Some(v) if *v == value => {
                    e.live = None;
                    e.tomb = Some((value, time));
                }
                // The pending value replaces the retracted one.
                Some(_) => {}
                None => e.tomb = Some((value, time)),
            }
        }
    }

    /// Keys pending.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys a [`Netting::drain`] with the same `complete_before` would hand out.
    pub fn drainable_keys(&self, complete_before: Option<u64>) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(_, e)| Self::drainable(e, complete_before))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    fn drainable(e: &Entry<V>, complete_before: Option<u64>) -> bool {
        e.live.is_some()
            || match (&e.tomb, complete_before) {
                (Some((_, t)), Some(f)) => *t < f,
                (Some(_), None) => true,
                (None, _) => false,
            }
    }

    /// Hands out the net state of every key whose state is known: live values always, tombs
    /// of times before `complete_before` (`None`: every tomb, e.g. at the end of input).
    /// What is handed out is removed.
    pub fn drain(&mut self, complete_before: Option<u64>) -> Vec<(String, Net<V>)> {
        self.entries
            .extract_if(|_, e| Self::drainable(e, complete_before))
            .filter_map(|(k, e)| match (e.live, e.tomb) {
                (Some(v), _) => Some((k, Net::Live(v))),
                (None, Some((v, _))) => Some((k, Net::Retracted(v))),
                (None, None) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_net_to_the_last_state_and_tombs_wait_for_their_time() {
        let mut n: Netting<&str> = Netting::default();
        n.apply("k".into(), "new", 1, 5);
        n.apply("k".into(), "old", -1, 5); // retraction after its replacement: ignored
        n.apply("j".into(), "x", 1, 5);
        n.apply("j".into(), "x", -1, 6); // cancelled before being written: a tomb of x
        n.apply("r".into(), "y", -1, 7);
        let mut live = n.drain(Some(0));
        live.sort();
        assert_eq!(live, vec![("k".into(), Net::Live("new"))]);
        assert_eq!(n.len(), 2);
        let mut part = n.drain(Some(7));
        part.sort();
        assert_eq!(part, vec![("j".into(), Net::Retracted("x"))]);
        assert_eq!(n.drain(None), vec![("r".into(), Net::Retracted("y"))]);
        assert!(n.is_empty());
        // A tomb replaced by a later +1 of the same key hands out the +1.
        n.apply("k".into(), "a", -1, 1);
        n.apply("k".into(), "b", 1, 2);
        assert_eq!(n.drain(Some(0)), vec![("k".into(), Net::Live("b"))]);
    }
}
