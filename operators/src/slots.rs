//! [`SlotMap`]: per-(tenant, instrument) state of one worker, kept in a dense vector and found
//! by the tick's [`Slot`] (the index dedupe gave the instrument) before falling back to names.
//!
//! The views look up an instrument's state for every tick; two nested hash maps keyed by
//! strings cost two hashes and two probes per view per tick. Here a tick whose slot was seen
//! before is one vector index plus a check that the entry found there holds the tick's tenant
//! and instrument (pointer equality first, so the common case compares no bytes). The slot is
//! only a hint: dedupe may give a released instrument's slot to another one, a tick may carry
//! [`Slot::NONE`], and a check that fails falls back to the name index and re-binds the slot.
//!
//! Entries are addressed by a stable `u32` index until removed; removed indexes are reused.
//! Iteration order is index order, which depends on arrival order — callers that emit from an
//! iteration sort what they emit (as `BarBook` and `LatestBook` do).

use crate::model::{ByPtr, Slot, Sym, SymMap};
use std::sync::Arc;

/// One instrument's entry: its names and its state.
#[derive(Debug)]
pub struct Item<V> {
    /// Tenant.
    pub tenant: Sym,
    /// Instrument.
    pub instrument: Sym,
    /// The state.
    pub value: V,
}

impl<V> Item<V> {
    fn holds(&self, tenant: &Sym, instrument: &Sym) -> bool {
        let eq = |a: &Sym, b: &Sym| Arc::ptr_eq(a, b) || a == b;
        eq(&self.instrument, instrument) && eq(&self.tenant, tenant)
    }
}

/// Dense per-instrument state (see the module doc).
#[derive(Debug)]
pub struct SlotMap<V> {
    names: SymMap<SymMap<u32>>,
    items: Vec<Option<Item<V>>>,
    free: Vec<u32>,
    /// Dedupe slot → index into `items` (`u32::MAX`: unknown).
    by_slot: Vec<u32>,
    len: usize,
}

impl<V> Default for SlotMap<V> {
    fn default() -> Self {
        SlotMap {
            names: SymMap::default(),
            items: Vec::new(),
            free: Vec::new(),
            by_slot: Vec::new(),
            len: 0,
        }
    }
}

impl<V> SlotMap<V> {
    /// The index of the entry for (tenant, instrument), using `slot` as a hint.
    pub fn find(&mut self, tenant: &Sym, instrument: &Sym, slot: Slot) -> Option<u32> {
        if let Some(s) = slot.index() {
            if let Some(&i) = self.by_slot.get(s) {
                if let Some(Some(item)) = self.items.get(i as usize) {
                    if item.holds(tenant, instrument) {
                        return Some(i);
                    }
                }
            }
        }
        let i = *self.names.get(&ByPtr(tenant))?.get(&ByPtr(instrument))?;
        self.bind(slot, i);
        Some(i)
    }

    /// The index of the entry for (tenant, instrument), made with `make` when absent.
    pub fn find_or_insert_with(
        &mut self,
        tenant: &Sym,
        instrument: &Sym,
        slot: Slot,
        make: impl FnOnce() -> V,
    ) -> u32 {
        if let Some(i) = self.find(tenant, instrument, slot) {
            return i;
        }
        let item = Item {
            tenant: tenant.clone(),
            instrument: instrument.clone(),
            value: make(),
        };
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(x) = self.items.get_mut(i as usize) {
                    *x = Some(item);
                }
                i
            }
            None => {
                self.items.push(Some(item));
                (self.items.len() - 1) as u32
            }
        };
        self.names
            .entry(tenant.clone())
            .or_default()
            .insert(instrument.clone(), i);
        self.len += 1;
        self.bind(slot, i);
        i
    }

    fn bind(&mut self, slot: Slot, i: u32) {
        if let Some(s) = slot.index() {
            if self.by_slot.len() <= s {
                self.by_slot.resize(s + 1, u32::MAX);
            }
            if let Some(b) = self.by_slot.get_mut(s) {
                *b = i;
            }
        }
    }

    /// The entry at `i`.
    pub fn get(&self, i: u32) -> Option<&Item<V>> {
        self.items.get(i as usize)?.as_ref()
    }

    /// The entry at `i`, mutably.
    pub fn get_mut(&mut self, i: u32) -> Option<&mut Item<V>> {
        self.items.get_mut(i as usize)?.as_mut()
    }

    /// The entry for (tenant, instrument) by name.
    pub fn lookup(&self, tenant: &str, instrument: &str) -> Option<&Item<V>> {
        let i = *self.names.get(tenant)?.get(instrument)?;
        self.get(i)
    }

    /// Removes the entry at `i` (its index may be handed out again).
    pub fn remove(&mut self, i: u32) {
        let Some(item) = self.items.get_mut(i as usize).and_then(Option::take) else {
            return;
        };
        if let Some(m) = self.names.get_mut(&ByPtr(&item.tenant)) {
            m.remove(&*item.instrument);
            if m.is_empty() {
                self.names.remove(&*item.tenant);
            }
        }
        self.free.push(i);
        self.len -= 1;
    }

    /// Keeps only the entries for which `keep` returns true (in index order).
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Item<V>) -> bool) {
        for i in 0..self.items.len() as u32 {
            if let Some(item) = self.get_mut(i) {
                if !keep(item) {
                    self.remove(i);
                }
            }
        }
    }

    /// Every entry, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &Item<V>> {
        self.items.iter().flatten()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Sym {
        Arc::from(s)
    }

    #[test]
    fn slots_are_hints_checked_against_names() {
        let (t, a, b) = (sym("default"), sym("A"), sym("B"));
        let mut m: SlotMap<u32> = SlotMap::default();
        let ia = m.find_or_insert_with(&t, &a, Slot(0), || 1);
        assert_eq!(m.find(&t, &a, Slot(0)), Some(ia));
        // Slot 0 now names B (dedupe re-used it): the check fails, B is made, slot re-bound.
        let ib = m.find_or_insert_with(&t, &b, Slot(0), || 2);
        assert_ne!(ia, ib);
        assert_eq!(m.find(&t, &b, Slot(0)), Some(ib));
        // A is still found by name, with another slot or none, and by an equal string.
        assert_eq!(m.find(&t, &sym("A"), Slot::NONE), Some(ia));
        assert_eq!(m.find(&t, &a, Slot(7)), Some(ia));
        assert_eq!(m.lookup("default", "B").map(|i| i.value), Some(2));
        m.remove(ia);
        assert_eq!(m.find(&t, &a, Slot(7)), None);
        assert_eq!(m.len(), 1);
        // The freed index is reused; a stale slot binding to it does not match other names.
        let ic = m.find_or_insert_with(&t, &sym("C"), Slot::NONE, || 3);
        assert_eq!(ic, ia);
        assert_eq!(m.find(&t, &a, Slot(7)), None);
        m.retain(|i| i.value != 2);
        assert_eq!(m.iter().map(|i| i.value).collect::<Vec<_>>(), vec![3]);
    }
}
