//! The XmlRpc request parser on arbitrary requests (see `src/lib.rs` for how bytes become one).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ipernity_fuzz::parse_request(ipernity::Protocol::XmlRpc, data);
});
