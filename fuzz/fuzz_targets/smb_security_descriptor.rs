//! Self-relative security descriptors (MS-DTYP 2.4.6), as SET_INFO and the
//! SecD create context bring them: `SecurityDescriptor::decode` never
//! panics, and what it accepts encodes to bytes that decode to the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polyshare_core::smb::fscc::SecurityDescriptor;

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = SecurityDescriptor::decode(data) {
        let bytes = sd.to_bytes();
        assert!(bytes.len() <= 20 + 2 * 68 + 2 * 65_535);
        assert_eq!(SecurityDescriptor::decode(&bytes), Ok(sd));
    }
});
