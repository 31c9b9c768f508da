//! SET_INFO buffers for SMB2_0_INFO_FILE (MS-SMB2 2.2.39, 3.3.5.21.1;
//! MS-FSCC 2.4). Decoding only checks the wire format; what a request means
//! for the open (access, directory vs file, sharing) is the handler's.

use super::InfoError;
use super::class::*;
use super::ea::{EaEntry, decode_full_ea_list};
use crate::smb::wire::codec::{u32_at, u64_at};
use crate::smb::wire::utf16::from_utf16le;

/// Longest name accepted in a rename or link request: 32767 UTF-16 units,
/// the NT path limit.
pub const MAX_NAME_BYTES: usize = 32_767 * 2;

// FileModeInformation flags that may be set (MS-FSCC 2.4.31).
const FILE_WRITE_THROUGH: u32 = 0x0000_0002;
const FILE_SEQUENTIAL_ONLY: u32 = 0x0000_0004;
const FILE_SYNCHRONOUS_IO_ALERT: u32 = 0x0000_0010;
const FILE_SYNCHRONOUS_IO_NONALERT: u32 = 0x0000_0020;

/// A decoded SET_INFO request buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetFileInfo {
    /// FileBasicInformation (4). A time of 0 means "don't change"; the wire
    /// values -1 (stop updating: u64::MAX) and -2 (resume updating:
    /// u64::MAX - 1) pass as they are and change no time either (MS-FSA
    /// 2.1.5.14.2). `attributes` 0 means "don't change".
    Basic { creation: u64, last_access: u64, last_write: u64, change: u64, attributes: u32 },
    /// FileEndOfFileInformation (20).
    EndOfFile(u64),
    /// FileAllocationInformation (19).
    Allocation(u64),
    /// FileValidDataLengthInformation (39).
    ValidDataLength(u64),
    /// FileDispositionInformation (13).
    Disposition { delete_pending: bool },
    /// FileDispositionInformationEx (64): FILE_DISPOSITION_* flags.
    DispositionEx { flags: u32 },
    /// FileRenameInformation (10), FILE_RENAME_INFORMATION_TYPE_2. `name` is
    /// the full path from the share root; MS-SMB2 3.3.5.21.1 requires a
    /// non-zero `root_directory` to fail with STATUS_INVALID_PARAMETER.
    Rename { replace_if_exists: bool, root_directory: u64, name: String },
    /// FilePositionInformation (14).
    Position(u64),
    /// FileModeInformation (16), flags already checked against MS-FSCC 2.4.31.
    Mode(u32),
    /// FileLinkInformation (11), FILE_LINK_INFORMATION_TYPE_2 (RootDirectory
    /// must be 0 for network operations).
    Link { replace_if_exists: bool, name: String },
    /// FileFullEaInformation (15).
    FullEa(Vec<EaEntry>),
}

/// Decodes the SET_INFO buffer of FileInformationClass `class`.
///
/// Errors: `InvalidInfoClass` for classes that cannot be set;
/// `NotSupported` for settable classes this server does not take
/// (FilePipeInformation, FileQuotaInformation, FileShortNameInformation,
/// FileRenameInformationEx); `BufferTooSmall` (STATUS_INFO_LENGTH_MISMATCH)
/// when the buffer is shorter than the fixed structure; `InvalidParameter`
/// for bad values, name lengths past the buffer, empty, odd-length,
/// over-long or non-UTF-16 names; the EA list's errors
/// ([`decode_full_ea_list`]).
pub fn decode_set_file_info(class: u8, buf: &[u8]) -> Result<SetFileInfo, InfoError> {
    match class {
        FILE_BASIC_INFORMATION => {
            // 40 bytes on the wire; the trailing Reserved u32 is ignored.
            need(buf, 36)?;
            Ok(SetFileInfo::Basic {
                creation: time(buf, 0)?,
                last_access: time(buf, 8)?,
                last_write: time(buf, 16)?,
                change: time(buf, 24)?,
                attributes: u32_at(buf, 32)?,
            })
        }
        FILE_END_OF_FILE_INFORMATION => Ok(SetFileInfo::EndOfFile(size(buf)?)),
        FILE_ALLOCATION_INFORMATION => Ok(SetFileInfo::Allocation(size(buf)?)),
        FILE_VALID_DATA_LENGTH_INFORMATION => Ok(SetFileInfo::ValidDataLength(size(buf)?)),
        FILE_POSITION_INFORMATION => Ok(SetFileInfo::Position(size(buf)?)),
        FILE_DISPOSITION_INFORMATION => {
            need(buf, 1)?;
            Ok(SetFileInfo::Disposition { delete_pending: buf.first().is_some_and(|&b| b != 0) })
        }
        FILE_DISPOSITION_INFORMATION_EX => Ok(SetFileInfo::DispositionEx { flags: u32_at(buf, 0)? }),
        FILE_MODE_INFORMATION => {
            let mode = u32_at(buf, 0)?;
            let allowed =
                FILE_WRITE_THROUGH | FILE_SEQUENTIAL_ONLY | FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT;
            let both_sync = FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT;
            if mode & !allowed != 0 || mode & both_sync == both_sync {
                return Err(InfoError::InvalidParameter);
            }
            Ok(SetFileInfo::Mode(mode))
        }
        FILE_RENAME_INFORMATION => {
            let (replace_if_exists, root_directory, name) = rename_type2(buf)?;
            Ok(SetFileInfo::Rename { replace_if_exists, root_directory, name })
        }
        FILE_LINK_INFORMATION => {
            let (replace_if_exists, root_directory, name) = rename_type2(buf)?;
            if root_directory != 0 {
                return Err(InfoError::InvalidParameter);
            }
            Ok(SetFileInfo::Link { replace_if_exists, name })
        }
        FILE_FULL_EA_INFORMATION => Ok(SetFileInfo::FullEa(decode_full_ea_list(buf)?)),
        FILE_PIPE_INFORMATION | FILE_QUOTA_INFORMATION | FILE_SHORT_NAME_INFORMATION | FILE_RENAME_INFORMATION_EX => {
            Err(InfoError::NotSupported)
        }
        _ => Err(InfoError::InvalidInfoClass),
    }
}

fn need(buf: &[u8], len: usize) -> Result<(), InfoError> {
    if buf.len() < len { Err(InfoError::BufferTooSmall) } else { Ok(()) }
}

/// A FILE_BASIC_INFORMATION time: below -2 is invalid.
fn time(buf: &[u8], at: usize) -> Result<u64, InfoError> {
    let v = u64_at(buf, at)? as i64;
    match v {
        v if v < -2 => Err(InfoError::InvalidParameter),
        v => Ok(v as u64),
    }
}

/// A 64-bit signed size or offset that must not be negative.
fn size(buf: &[u8]) -> Result<u64, InfoError> {
    let v = u64_at(buf, 0)?;
    if v > i64::MAX as u64 { Err(InfoError::InvalidParameter) } else { Ok(v) }
}

/// FILE_RENAME_INFORMATION_TYPE_2 / FILE_LINK_INFORMATION_TYPE_2:
/// ReplaceIfExists (1), Reserved (7), RootDirectory (8), FileNameLength (4),
/// FileName (MS-FSCC 2.4.42.2, 2.4.28.2).
fn rename_type2(buf: &[u8]) -> Result<(bool, u64, String), InfoError> {
    need(buf, 20)?;
    let replace = buf.first().is_some_and(|&b| b != 0);
    let root = u64_at(buf, 8)?;
    let len = u32_at(buf, 16)? as usize;
    if len == 0 || len % 2 != 0 || len > MAX_NAME_BYTES {
        return Err(InfoError::InvalidParameter);
    }
    let raw = buf.get(20..20 + len).ok_or(InfoError::InvalidParameter)?;
    Ok((replace, root, from_utf16le(raw)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb::wire::utf16::utf16le;
    use quickcheck::quickcheck;

    fn type2(replace: u8, root: u64, name: &[u8], len: u32) -> Vec<u8> {
        let mut b = vec![replace, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA];
        b.extend_from_slice(&root.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(name);
        b
    }

    #[test]
    fn basic() {
        let mut b = Vec::new();
        for t in [5u64, 0, u64::MAX, u64::MAX - 1] {
            b.extend_from_slice(&t.to_le_bytes());
        }
        b.extend_from_slice(&0x21u32.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        assert_eq!(
            decode_set_file_info(4, &b),
            Ok(SetFileInfo::Basic {
                creation: 5,
                last_access: 0,
                last_write: u64::MAX,
                change: u64::MAX - 1,
                attributes: 0x21
            })
        );
        assert!(decode_set_file_info(4, &b[..36]).is_ok());
        assert_eq!(decode_set_file_info(4, &b[..35]), Err(InfoError::BufferTooSmall));
        b[8..16].copy_from_slice(&(-3i64).to_le_bytes());
        assert_eq!(decode_set_file_info(4, &b), Err(InfoError::InvalidParameter));
    }

    #[test]
    fn sizes_disposition_mode() {
        assert_eq!(decode_set_file_info(20, &7u64.to_le_bytes()), Ok(SetFileInfo::EndOfFile(7)));
        assert_eq!(decode_set_file_info(19, &4096u64.to_le_bytes()), Ok(SetFileInfo::Allocation(4096)));
        assert_eq!(decode_set_file_info(39, &1u64.to_le_bytes()), Ok(SetFileInfo::ValidDataLength(1)));
        assert_eq!(decode_set_file_info(14, &9u64.to_le_bytes()), Ok(SetFileInfo::Position(9)));
        assert_eq!(decode_set_file_info(20, &(-1i64).to_le_bytes()), Err(InfoError::InvalidParameter));
        assert_eq!(decode_set_file_info(20, &[0; 7]), Err(InfoError::BufferTooSmall));
        assert_eq!(decode_set_file_info(13, &[1]), Ok(SetFileInfo::Disposition { delete_pending: true }));
        assert_eq!(decode_set_file_info(13, &[0, 9]), Ok(SetFileInfo::Disposition { delete_pending: false }));
        assert_eq!(decode_set_file_info(13, &[]), Err(InfoError::BufferTooSmall));
        assert_eq!(decode_set_file_info(64, &[0x13, 0, 0, 0]), Ok(SetFileInfo::DispositionEx { flags: 0x13 }));
        assert_eq!(decode_set_file_info(16, &[0x26, 0, 0, 0]), Ok(SetFileInfo::Mode(0x26)));
        assert_eq!(decode_set_file_info(16, &[0x08, 0, 0, 0]), Err(InfoError::InvalidParameter));
        assert_eq!(decode_set_file_info(16, &[0x30, 0, 0, 0]), Err(InfoError::InvalidParameter));
    }

    #[test]
    fn rename_and_link() {
        let name = utf16le("dir\\new name.txt");
        let b = type2(1, 0, &name, name.len() as u32);
        assert_eq!(
            decode_set_file_info(10, &b),
            Ok(SetFileInfo::Rename { replace_if_exists: true, root_directory: 0, name: "dir\\new name.txt".into() })
        );
        assert_eq!(
            decode_set_file_info(11, &type2(0, 0, &name, name.len() as u32)),
            Ok(SetFileInfo::Link { replace_if_exists: false, name: "dir\\new name.txt".into() })
        );
        // Trailing padding is ignored; a short name still decodes.
        let mut padded = type2(0, 0, &utf16le("a"), 2);
        padded.extend_from_slice(&[0, 0]);
        assert!(matches!(decode_set_file_info(10, &padded), Ok(SetFileInfo::Rename { .. })));
        let r = decode_set_file_info(10, &type2(0, 5, &name, name.len() as u32));
        assert!(matches!(r, Ok(SetFileInfo::Rename { root_directory: 5, .. })));
        assert_eq!(decode_set_file_info(11, &type2(0, 5, &name, 2)), Err(InfoError::InvalidParameter));

        assert_eq!(decode_set_file_info(10, &b[..19]), Err(InfoError::BufferTooSmall));
        assert_eq!(
            decode_set_file_info(10, &type2(0, 0, &name, name.len() as u32 + 2)),
            Err(InfoError::InvalidParameter)
        );
        assert_eq!(decode_set_file_info(10, &type2(0, 0, &name, 3)), Err(InfoError::InvalidParameter));
        assert_eq!(decode_set_file_info(10, &type2(0, 0, &name, 0)), Err(InfoError::InvalidParameter));
        assert_eq!(decode_set_file_info(10, &type2(0, 0, &[0, 0xD8], 2)), Err(InfoError::InvalidParameter));
        assert_eq!(decode_set_file_info(10, &type2(0, 0, &name, u32::MAX - 1)), Err(InfoError::InvalidParameter));
        let long = vec![0x61; MAX_NAME_BYTES + 2];
        assert_eq!(decode_set_file_info(10, &type2(0, 0, &long, long.len() as u32)), Err(InfoError::InvalidParameter));
    }

    #[test]
    fn full_ea_lists() {
        // The list codec is fscc/ea.rs's; SET_INFO hands class 15 to it.
        let list = [0, 0, 0, 0, 0x80, 1, 1, 0, b'A', 0, b'v'];
        assert_eq!(
            decode_set_file_info(15, &list),
            Ok(SetFileInfo::FullEa(vec![EaEntry { flags: 0x80, name: "A".into(), value: b"v".to_vec() }]))
        );
        assert_eq!(decode_set_file_info(15, &[]), Err(InfoError::EaListInconsistent));
    }

    #[test]
    fn classes() {
        for class in [23, 32, 40, 65] {
            assert_eq!(decode_set_file_info(class, &[0; 64]), Err(InfoError::NotSupported));
        }
        for class in [0, 1, 5, 9, 18, 22, 34, 200] {
            assert_eq!(decode_set_file_info(class, &[0; 64]), Err(InfoError::InvalidInfoClass));
        }
    }

    quickcheck! {
        fn decode_never_panics(class: u8, buf: Vec<u8>) -> bool {
            let _ = decode_set_file_info(class, &buf);
            true
        }

        fn rename_round_trips(name: String, replace: bool) -> bool {
            let raw = utf16le(&name);
            let r = decode_set_file_info(10, &type2(u8::from(replace), 0, &raw, raw.len() as u32));
            if name.is_empty() || raw.len() > MAX_NAME_BYTES {
                r == Err(InfoError::InvalidParameter)
            } else {
                r == Ok(SetFileInfo::Rename { replace_if_exists: replace, root_directory: 0, name })
            }
        }
    }
}
