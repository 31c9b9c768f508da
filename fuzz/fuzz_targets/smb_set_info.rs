//! SET_INFO buffers (MS-SMB2 2.2.39, MS-FSCC 2.4): `decode_set_file_info`
//! never panics for any class. Input: byte 0 is the FileInformationClass,
//! the rest the buffer. The same buffer also feeds the EA list codec
//! (`smb::fscc::ea`): FILE_GET_EA_INFORMATION lists decode without panic,
//! and a FILE_FULL_EA_INFORMATION list that decodes re-encodes to one that
//! decodes to the same EAs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polyshare_core::smb::fscc::ea::{EaFill, decode_full_ea_list, decode_get_ea_list, encode_full_ea_list};
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
    if let Ok(names) = decode_get_ea_list(buf) {
        assert!(names.iter().all(|n| !n.is_empty() && n.len() <= 255));
    }
    if let Ok(list) = decode_full_ea_list(buf) {
        let mut out = Vec::new();
        let fill = encode_full_ea_list(list.iter().map(|e| (e.name.as_str(), &e.value[..])), usize::MAX, &mut out);
        assert_eq!(fill, EaFill::All);
        let again = decode_full_ea_list(&out).expect("an encoded list decodes");
        assert!(again.iter().zip(&list).all(|(a, b)| a.name == b.name && a.value == b.value && a.flags == 0));
        assert_eq!(again.len(), list.len());
    }
});
