//! Round-trip checks every device's tests call (after crosvm's `suspendable_tests!`).
//!
//! ```ignore
//! #[test]
//! fn state_roundtrips() {
//!     let mut dev = Escc::default();
//!     savevm::testing::assert_roundtrip(&mut dev);
//!     savevm::testing::assert_mutated_roundtrip(&mut dev, |d| d.wr9 = 0xc0);
//! }
//! ```

use crate::vmsd::{describe_saved, load_bytes, save_bytes, VmState};

/// Saves `dev`, loads the bytes into `T::default()`, saves that again and asserts the
/// bytes are identical and the VMDESCRIPTION parses as JSON. Returns the bytes.
///
/// # Panics
/// When the round trip differs or the load fails: this is a test helper.
pub fn assert_roundtrip<T: VmState + Default>(dev: &mut T) -> Vec<u8> {
    assert_roundtrip_into(dev, T::default())
}

/// Like [`assert_roundtrip`], loading into `fresh` (for devices without `Default`).
pub fn assert_roundtrip_into<T: VmState>(dev: &mut T, mut fresh: T) -> Vec<u8> {
    let name = T::vmsd().name();
    let first = save_bytes(dev);
    if let Err(e) = load_bytes(&mut fresh, &first) {
        panic!("savevm round trip of '{name}': load failed: {e}\nbytes: {first:02x?}");
    }
    let second = save_bytes(&mut fresh);
    assert_eq!(
        first, second,
        "savevm round trip of '{name}': save -> load -> save changed the bytes"
    );
    let desc = describe_saved(dev);
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&desc) {
        panic!("savevm '{name}': VMDESCRIPTION is not JSON ({e}): {desc}");
    }
    first
}

/// Applies `mutate` to `dev`, asserts the saved bytes changed (the mutation touched
/// saved state), then asserts the round trip. Catches a field that saves but does not
/// load, or loads into the wrong place.
pub fn assert_mutated_roundtrip<T: VmState + Default>(dev: &mut T, mutate: impl FnOnce(&mut T)) {
    let before = save_bytes(dev);
    mutate(dev);
    let after = assert_roundtrip(dev);
    assert_ne!(
        before,
        after,
        "savevm '{}': the mutation did not change the saved state; mutate a saved field",
        T::vmsd().name()
    );
}
