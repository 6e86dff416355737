#![no_main]

// The check lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::metrics_request(data));
