//! screamer
