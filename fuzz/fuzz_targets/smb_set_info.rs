//! SET_INFO buffers (MS-SMB2 2.2.39, MS-FSCC 2.4): `decode_set_file_info`
//! never panics for any class. Input: byte 0 is the FileInformationClass,
//! the rest the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polyshare_core::smb::fscc::set_info::MAX_NAME_BYTES;
use polyshare_core::smb::fscc::{SetFileInfo, decode_set_file_info};

fuzz_target!(|data: &[u8]| {
    let Some((&class, buf)) = data.split_first() else { return };
    match decode_set_file_info(class, buf) {
        Ok(SetFileInfo::Rename { name, .. } | SetFileInfo::Link { name, .. }) => {
            assert!(!name.is_empty());
            assert!(name.encode_utf16().count() * 2 <= MAX_NAME_BYTES);
        }
        Ok(SetFileInfo::FullEa(list)) => {
            assert!(!list.is_empty());
            for ea in &list {
                assert!(!ea.name.is_empty() && ea.name.len() <= 255);
                assert!(ea.value.len() <= usize::from(u16::MAX));
            }
        }
        Ok(SetFileInfo::EndOfFile(v) | SetFileInfo::Allocation(v) | SetFileInfo::ValidDataLength(v)) => {
            assert!(v <= i64::MAX as u64);
        }
        Ok(_) | Err(_) => {}
    }
});
