//! via
