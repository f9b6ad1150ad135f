//! Floating point with exact FPSCR semantics.
