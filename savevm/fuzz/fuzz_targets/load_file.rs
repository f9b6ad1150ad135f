//! The compressed-file loader: zstd framing and checksum errors must be clean errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savevm::testing::demo::DemoMachine;

fuzz_target!(|data: &[u8]| {
    let mut m = DemoMachine::new(16 * 4096);
    let _ = m.load_file(data);
});
