//! Interned strings.

use rustc_hash::{FxBuildHasher, FxHashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An interned, immutable, cheaply clonable string (tenant, instrument id, node, run).
pub type Sym = Arc<str>;

/// Hands out one shared [`Sym`] per distinct string, so a parser allocates each instrument id
/// once per document instead of once per row.
#[derive(Default, Debug)]
pub struct Interner {
    set: FxHashSet<Sym>,
}

impl Interner {
    /// Returns the shared symbol for `s`, allocating it the first time it is seen.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(sym) = self.set.get(s) {
            return sym.clone();
        }
        let sym: Sym = Arc::from(s);
        self.set.insert(sym.clone());
        sym
    }

    /// Interns the concatenation of `parts` without allocating when it is already known.
    pub fn intern_parts(&mut self, parts: &[&str], scratch: &mut String) -> Sym {
        scratch.clear();
        for p in parts {
            scratch.push_str(p);
        }
        if let Some(sym) = self.set.get(scratch.as_str()) {
            return sym.clone();
        }
        self.intern(scratch)
    }

    /// Number of distinct symbols held.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when nothing has been interned.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// A map keyed by [`Sym`] that is looked up with [`ByPtr`]: a key interned by the same
/// [`Interner`] (every tick of a worker) is found by pointer, without comparing its bytes.
pub type SymMap<V> = hashbrown::HashMap<Sym, V, FxBuildHasher>;

/// A [`SymMap`] lookup key: hashes as the string, equal to a key that is the same allocation
/// or holds the same string. (`Arc<str>`'s own equality always compares the bytes.)
#[derive(Clone, Copy, Debug)]
pub struct ByPtr<'a>(pub &'a Sym);

impl Hash for ByPtr<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl hashbrown::Equivalent<Sym> for ByPtr<'_> {
    fn equivalent(&self, key: &Sym) -> bool {
        Arc::ptr_eq(self.0, key) || **self.0 == **key
    }
}
