//! dbdma
