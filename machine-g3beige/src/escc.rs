//! escc
