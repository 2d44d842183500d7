//! The multiset of versions held for one input key (a curve definition, a member, an
//! instrument's latest price).
//!
//! Differential inputs may deliver `+1 new` before `−1 old`, or briefly hold two versions of one
//! key (a table with a duplicate row). The multiset keeps every value with its summed
//! multiplicity; the *current* value is the greatest (by `Ord`) value with a positive
//! multiplicity, so the choice depends only on the multiset, never on arrival order.

use super::Diff;

/// Values of one key with their multiplicities (never zero).
#[derive(Clone, Debug)]
pub(crate) struct Versions<T> {
    entries: Vec<(T, Diff)>,
}

impl<T> Default for Versions<T> {
    fn default() -> Self {
        Versions {
            entries: Vec::new(),
        }
    }
}

/// What an update did to the set of values held (with non-zero multiplicity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    /// The value was not held before and is now.
    Added,
    /// The value was held before and no longer is.
    Removed,
    /// The set of held values did not change (only a multiplicity, or nothing).
    Same,
}

impl<T: Ord> Versions<T> {
    /// Adds `diff` to the multiplicity of `value`.
    pub(crate) fn update(&mut self, value: T, diff: Diff) -> Presence {
        if diff == 0 {
            return Presence::Same;
        }
        match self.entries.iter().position(|(v, _)| *v == value) {
            Some(i) => {
                let gone = match self.entries.get_mut(i) {
                    Some(entry) => {
                        entry.1 += diff;
                        entry.1 == 0
                    }
                    None => false,
                };
                if gone {
                    self.entries.swap_remove(i);
                    Presence::Removed
                } else {
                    Presence::Same
                }
            }
            None => {
                self.entries.push((value, diff));
                Presence::Added
            }
        }
    }

    /// The greatest value with a positive multiplicity.
    pub(crate) fn current(&self) -> Option<&T> {
        self.entries
            .iter()
            .filter(|(_, d)| *d > 0)
            .map(|(v, _)| v)
            .max()
    }

    /// True when no value is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every value held, whatever its multiplicity.
    #[cfg(test)]
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(v, _)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_is_the_greatest_positive_value_whatever_the_order() {
        let mut v = Versions::default();
        assert_eq!(v.update(5, 1), Presence::Added);
        assert_eq!(v.update(7, -1), Presence::Added);
        assert_eq!(v.current(), Some(&5));
        assert_eq!(v.update(7, 1), Presence::Removed);
        assert_eq!(v.update(9, 1), Presence::Added);
        assert_eq!(v.current(), Some(&9));
        assert_eq!(v.update(9, 1), Presence::Same);
        assert_eq!(v.update(9, -2), Presence::Removed);
        assert_eq!(v.update(5, 0), Presence::Same);
        assert_eq!(v.update(5, -1), Presence::Removed);
        assert!(v.is_empty());
        assert_eq!(v.current(), None);
    }
}
