//! Address translation: BATs, segment registers, hashed page table.
