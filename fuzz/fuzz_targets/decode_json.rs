//! The json decoder on arbitrary bytes: an error or a value, never a panic, abort or runaway.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ipernity::Format::Json.decode(data);
});
