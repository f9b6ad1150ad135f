//! Run: `cd savevm/fuzz && cargo +nightly fuzz run load_stream`.
//! Any byte string fed to the stream loader must give Ok or an error: never a panic,
//! a hang or an oversized allocation. Seed the corpus with
//! `cargo run -p savevm --example demo_snapshot -- x.zst && zstd -d x.zst -o corpus/load_stream/demo`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savevm::testing::demo::DemoMachine;

fuzz_target!(|data: &[u8]| {
    let mut m = DemoMachine::new(16 * 4096);
    let _ = m.load_stream(&mut &data[..]);
});
