//! adb
