//! Translated blocks, keyed by the physical address of their first instruction.
//!
//! A block's micro-ops depend only on the instruction words, never on MSR: privilege,
//! FP-available and translation are checked when an op runs, so no MSR bits need to
//! be part of the key. Blocks never cross a 4 KB page, so invalidating a physical page
//! drops exactly the blocks that read it.

use std::any::TypeId;
use std::collections::HashMap;

use crate::decode::Insn;
use crate::exec::end_marker;
use crate::translate::next_addr;

const FAST_SIZE: usize = 4096;
/// More blocks than this and the cache starts over (like QEMU's full TB flush).
const MAX_BLOCKS: usize = 1 << 16;
const NO_SLOT: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub struct Block {
    pub pa: u32,
    /// The ops, then an end marker (see `exec::end_marker`).
    insns: Box<[Insn]>,
}

#[derive(Debug)]
pub struct BlockCache {
    slab: Vec<Block>,
    free: Vec<u32>,
    map: HashMap<u32, u32>,
    /// Direct-mapped (pa, slot) front of `map`: the fast lookup for every block entry.
    fast: Box<[(u32, u32)]>,
    pages: HashMap<u32, Vec<u32>>,
    /// Bumped whenever a block is dropped (see `exec::JumpCache`).
    generation: u64,
    /// The bus type whose handlers the blocks' ops are bound to (see `claim`).
    owner: Option<TypeId>,
    bind: fn(&mut [Insn]),
}

impl Default for BlockCache {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockCache {
    /// An empty cache that allocates nothing: what the CPU holds while `run` has
    /// the real one out.
    pub(crate) fn placeholder() -> BlockCache {
        BlockCache {
            slab: Vec::new(),
            free: Vec::new(),
            map: HashMap::new(),
            fast: Box::new([]),
            pages: HashMap::new(),
            generation: 0,
            owner: None,
            bind: |_| {},
        }
    }

    pub fn new() -> BlockCache {
        BlockCache {
            slab: Vec::new(),
            free: Vec::new(),
            map: HashMap::new(),
            fast: vec![(u32::MAX, NO_SLOT); FAST_SIZE].into_boxed_slice(),
            pages: HashMap::new(),
            generation: 0,
            owner: None,
            bind: |_| {},
        }
    }

    #[inline(always)]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[inline(always)]
    fn fast_index(pa: u32) -> usize {
        (pa >> 2) as usize & (FAST_SIZE - 1)
    }

    #[inline(always)]
    pub fn lookup(&mut self, pa: u32) -> Option<u32> {
        let f = self.fast[Self::fast_index(pa)];
        if f.0 == pa && f.1 != NO_SLOT {
            return Some(f.1);
        }
        let slot = *self.map.get(&pa)?;
        self.fast[Self::fast_index(pa)] = (pa, slot);
        Some(slot)
    }

    /// Make the blocks those of bus type `owner`, whose handlers `bind` gives every
    /// op from now on: a cache that held another type's blocks starts over.
    pub(crate) fn claim(&mut self, owner: TypeId, bind: fn(&mut [Insn])) {
        if self.owner != Some(owner) {
            self.clear();
            self.owner = Some(owner);
            self.bind = bind;
        }
    }

    /// Add the block of `insns` at `pa`, which gets its end marker and its handlers
    /// (see `claim`) here.
    pub fn insert(&mut self, pa: u32, mut insns: Vec<Insn>) -> u32 {
        if self.map.len() >= MAX_BLOCKS {
            self.clear();
        }
        // Where the run goes on after the last op, relative to the page.
        let off = insns
            .last()
            .map_or(0, |i| next_addr(i, i.off as u32) as u16);
        insns.push(end_marker(insns.len(), off));
        (self.bind)(&mut insns);
        let block = Block {
            pa,
            insns: insns.into(),
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = block;
                s
            }
            None => {
                self.slab.push(block);
                (self.slab.len() - 1) as u32
            }
        };
        self.map.insert(pa, slot);
        self.fast[Self::fast_index(pa)] = (pa, slot);
        self.pages.entry(pa >> 12).or_default().push(slot);
        slot
    }

    #[inline(always)]
    pub fn block(&self, slot: u32) -> &Block {
        &self.slab[slot as usize]
    }

    /// A block's ops, to run: never empty, and ending in its end marker.
    #[inline(always)]
    pub fn ops(&self, slot: u32) -> &[Insn] {
        self.slab.get(slot as usize).map_or(&[], |b| &b.insns)
    }

    /// Drop every block translated from physical page `page`. The slab entries stay
    /// readable until reused, so a block that invalidates itself finishes safely.
    pub fn invalidate_page(&mut self, page: u32) {
        let Some(slots) = self.pages.remove(&page) else {
            return;
        };
        self.generation += 1;
        for slot in slots {
            let pa = self.slab[slot as usize].pa;
            if self.map.get(&pa) == Some(&slot) {
                self.map.remove(&pa);
                let f = &mut self.fast[Self::fast_index(pa)];
                if f.1 == slot {
                    *f = (u32::MAX, NO_SLOT);
                }
                self.free.push(slot);
            }
        }
    }

    pub fn clear(&mut self) {
        self.generation += 1;
        self.slab.clear();
        self.free.clear();
        self.map.clear();
        self.pages.clear();
        self.fast.fill((u32::MAX, NO_SLOT));
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;

    #[test]
    fn invalidated_page_misses_and_other_pages_hit() {
        let mut c = BlockCache::new();
        c.insert(0x1000, vec![decode(0x6000_0000)]);
        c.insert(0x2000, vec![decode(0x6000_0000)]);
        c.invalidate_page(1);
        assert_eq!(c.lookup(0x1000), None);
        assert!(c.lookup(0x2000).is_some());
    }

    #[test]
    fn freed_slot_is_reused_for_new_block() {
        let mut c = BlockCache::new();
        let a = c.insert(0x1000, vec![]);
        c.invalidate_page(1);
        let b = c.insert(0x3000, vec![]);
        assert_eq!(a, b);
        assert_eq!(c.block(b).pa, 0x3000);
        assert_eq!(c.lookup(0x1000), None);
    }
}
