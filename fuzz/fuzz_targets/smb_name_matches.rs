//! QUERY_DIRECTORY patterns (MS-FSA 2.1.4.4): `name_matches` never panics and
//! agrees with a few facts. Input: pattern, a 0 byte, name (both lossily
//! decoded as UTF-8); without a 0 byte, the whole input is both.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polyshare_core::smb::fscc::{has_wildcards, name_matches, valid_search_pattern};

fuzz_target!(|data: &[u8]| {
    let (p, n) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let pattern = String::from_utf8_lossy(p);
    let name = String::from_utf8_lossy(n);
    let _ = valid_search_pattern(&pattern);
    let m = name_matches(&pattern, &name);
    if !name.is_empty() {
        assert!(name_matches("*", &name));
        assert!(name_matches("*.*", &name));
        if !has_wildcards(&name) {
            assert!(name_matches(&name, &name), "a literal name must match itself");
        }
    }
    if !has_wildcards(&pattern) && m {
        assert_eq!(pattern.chars().count(), name.chars().count(), "a literal match has the name's length");
    }
});
