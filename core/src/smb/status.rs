//! NTSTATUS values used by the SMB2 server (MS-ERREF 2.3.1) and the mapping
//! from storage errors.

use crate::vfs::VfsError;

pub const SUCCESS: u32 = 0x0000_0000;
pub const PENDING: u32 = 0x0000_0103;
pub const NOTIFY_CLEANUP: u32 = 0x0000_010B;
pub const NOTIFY_ENUM_DIR: u32 = 0x0000_010C;
pub const BUFFER_OVERFLOW: u32 = 0x8000_0005;
pub const NO_MORE_FILES: u32 = 0x8000_0006;
pub const UNSUCCESSFUL: u32 = 0xC000_0001;
pub const NOT_IMPLEMENTED: u32 = 0xC000_0002;
pub const INVALID_INFO_CLASS: u32 = 0xC000_0003;
pub const INFO_LENGTH_MISMATCH: u32 = 0xC000_0004;
pub const INVALID_HANDLE: u32 = 0xC000_0008;
pub const INVALID_PARAMETER: u32 = 0xC000_000D;
pub const NO_SUCH_FILE: u32 = 0xC000_000F;
pub const INVALID_DEVICE_REQUEST: u32 = 0xC000_0010;
pub const END_OF_FILE: u32 = 0xC000_0011;
pub const MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;
pub const ACCESS_DENIED: u32 = 0xC000_0022;
pub const BUFFER_TOO_SMALL: u32 = 0xC000_0023;
/// STATUS_OBJECT_TYPE_MISMATCH: a stream rename to a type other than
/// `$DATA` (MS-FSA 2.1.5.15.12.1).
pub const OBJECT_TYPE_MISMATCH: u32 = 0xC000_0024;
pub const OBJECT_NAME_INVALID: u32 = 0xC000_0033;
pub const OBJECT_NAME_NOT_FOUND: u32 = 0xC000_0034;
pub const OBJECT_NAME_COLLISION: u32 = 0xC000_0035;
pub const OBJECT_PATH_NOT_FOUND: u32 = 0xC000_003A;
pub const OBJECT_PATH_SYNTAX_BAD: u32 = 0xC000_003B;
pub const SHARING_VIOLATION: u32 = 0xC000_0043;
pub const DELETE_PENDING: u32 = 0xC000_0056;
pub const PRIVILEGE_NOT_HELD: u32 = 0xC000_0061;
pub const LOGON_FAILURE: u32 = 0xC000_006D;
pub const DISK_FULL: u32 = 0xC000_007F;
pub const INSUFFICIENT_RESOURCES: u32 = 0xC000_009A;
pub const FILE_IS_A_DIRECTORY: u32 = 0xC000_00BA;
pub const NOT_SUPPORTED: u32 = 0xC000_00BB;
pub const NETWORK_NAME_DELETED: u32 = 0xC000_00C9;
/// STATUS_NOT_SAME_DEVICE (MS-ERREF 2.3.1): a rename or link between two
/// mounts.
pub const NOT_SAME_DEVICE: u32 = 0xC000_00D4;
/// STATUS_FILE_RENAMED (MS-ERREF 2.3.1): the file was renamed and so is
/// not modified (a stream's file another protocol moved, renamed onto).
pub const FILE_RENAMED: u32 = 0xC000_00D5;
pub const BAD_NETWORK_NAME: u32 = 0xC000_00CC;
pub const PIPE_EMPTY: u32 = 0xC000_00D9;
pub const REQUEST_NOT_ACCEPTED: u32 = 0xC000_00D0;
/// A session binding whose connection signs or encrypts otherwise than the
/// session (MS-ERREF 2.3.1).
pub const REQUEST_OUT_OF_SEQUENCE: u32 = 0xC000_042A;
pub const OPLOCK_NOT_GRANTED: u32 = 0xC000_00E2;
pub const INVALID_OPLOCK_PROTOCOL: u32 = 0xC000_00E3;
pub const INTERNAL_ERROR: u32 = 0xC000_00E5;
pub const DIRECTORY_NOT_EMPTY: u32 = 0xC000_0101;
pub const NOT_A_DIRECTORY: u32 = 0xC000_0103;
pub const NAME_TOO_LONG: u32 = 0xC000_0106;
pub const CANCELLED: u32 = 0xC000_0120;
pub const CANNOT_DELETE: u32 = 0xC000_0121;
pub const FILE_CLOSED: u32 = 0xC000_0128;
pub const INVALID_VIEW_SIZE: u32 = 0xC000_001F;
pub const NOT_A_REPARSE_POINT: u32 = 0xC000_0275;
pub const STATUS_FILE_TOO_LARGE: u32 = 0xC000_0904;
pub const USER_SESSION_DELETED: u32 = 0xC000_0203;
pub const DUPLICATE_OBJECTID: u32 = 0xC000_022A;
pub const NOT_FOUND: u32 = 0xC000_0225;
pub const BAD_IMPERSONATION_LEVEL: u32 = 0xC000_00A5;
pub const STOPPED_ON_SYMLINK: u32 = 0x8000_002D;
pub const STALE_HANDLE: u32 = FILE_CLOSED;
pub const EAS_NOT_SUPPORTED: u32 = 0xC000_004F;
pub const EA_TOO_LARGE: u32 = 0xC000_0050;
pub const NONEXISTENT_EA_ENTRY: u32 = 0xC000_0051;
pub const NO_EAS_ON_FILE: u32 = 0xC000_0052;
pub const NO_MORE_EAS: u32 = 0x8000_0012;
pub const INVALID_EA_NAME: u32 = 0x8000_0013;
pub const EA_LIST_INCONSISTENT: u32 = 0x8000_0014;
pub const NO_PREAUTH_INTEGRITY_HASH_OVERLAP: u32 = 0xC05D_0000;

/// Maps a storage error to the NTSTATUS a Windows server gives for it.
pub fn from_vfs(e: &VfsError) -> u32 {
    match e {
        VfsError::NotFound => OBJECT_NAME_NOT_FOUND,
        VfsError::Exists => OBJECT_NAME_COLLISION,
        VfsError::NotDir => NOT_A_DIRECTORY,
        VfsError::IsDir => FILE_IS_A_DIRECTORY,
        VfsError::NotEmpty => DIRECTORY_NOT_EMPTY,
        VfsError::Access | VfsError::ReadOnly => ACCESS_DENIED,
        VfsError::NameTooLong => NAME_TOO_LONG,
        VfsError::InvalidName => OBJECT_NAME_INVALID,
        VfsError::Invalid => INVALID_PARAMETER,
        VfsError::NoSpace => DISK_FULL,
        VfsError::TooBig => STATUS_FILE_TOO_LARGE,
        VfsError::Stale => FILE_CLOSED,
        VfsError::NotSupported => NOT_SUPPORTED,
        VfsError::CrossDevice => NOT_SAME_DEVICE,
        VfsError::Io(_) => UNSUCCESSFUL,
    }
}

/// Warnings and informational codes still carry a valid response body.
pub fn is_error(status: u32) -> bool {
    status >> 30 == 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity() {
        assert!(is_error(ACCESS_DENIED));
        assert!(!is_error(BUFFER_OVERFLOW));
        assert!(!is_error(PENDING));
        assert_eq!(from_vfs(&VfsError::NotEmpty), 0xC000_0101);
    }
}
