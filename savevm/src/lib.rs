//! Versioned device-state descriptions and snapshot files.
