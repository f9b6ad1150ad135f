//! Integration tests and guest programs for beige.
