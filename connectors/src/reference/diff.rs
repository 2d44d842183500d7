//! The changes between two snapshots of the reference tables.

use operators::model::{ReferenceRow, RowKey};
use std::collections::BTreeMap;

/// One change of the live reference collection (active rows only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A version that was not live before (a new row, or a row re-activated).
    Inserted(ReferenceRow),
    /// A live version whose columns changed (same table, tenant, natural key and `valid_from`).
    Updated {
        /// The row as it was.
        old: ReferenceRow,
        /// The row as it is.
        new: ReferenceRow,
    },
    /// A live version that is gone: set `active = false`, or removed from the table.
    Deactivated(ReferenceRow),
}

impl Change {
    /// The differential updates of this change: `+1 new`, `−1 old`, or both.
    pub fn updates(self) -> Vec<(ReferenceRow, i64)> {
        match self {
            Change::Inserted(new) => vec![(new, 1)],
            Change::Updated { old, new } => vec![(old, -1), (new, 1)],
            Change::Deactivated(old) => vec![(old, -1)],
        }
    }
}

fn live(rows: &[ReferenceRow]) -> BTreeMap<RowKey, &ReferenceRow> {
    rows.iter()
        .filter(|r| r.active())
        .map(|r| (r.key(), r))
        .collect()
}

/// The changes from snapshot `old` to snapshot `new`, in key order (deterministic). Inactive rows
/// count as absent; equal rows produce nothing. Applying every [`Change::updates`] to a
/// collection holding `old`'s active rows leaves exactly `new`'s active rows.
pub fn diff(old: &[ReferenceRow], new: &[ReferenceRow]) -> Vec<Change> {
    let old = live(old);
    let mut new = live(new);
    let mut changes = Vec::new();
    for (key, before) in old {
        match new.remove(&key) {
            None => changes.push((key, Change::Deactivated(before.clone()))),
            Some(after) if after != before => changes.push((
                key,
                Change::Updated {
                    old: before.clone(),
                    new: after.clone(),
                },
            )),
            Some(_) => {}
        }
    }
    changes.extend(
        new.into_iter()
            .map(|(key, row)| (key, Change::Inserted(row.clone()))),
    );
    changes.sort_by(|a, b| a.0.cmp(&b.0));
    changes.into_iter().map(|(_, c)| c).collect()
}
