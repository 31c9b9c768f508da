//! OS errors as the storage errors both protocols understand, and the
//! kernel's offset limit: shared by LocalFs and its stream store.

use std::io;

use nix::libc;

use crate::vfs::types::VfsError;

/// Largest offset + length accepted (the kernel's `off_t` limit).
pub(super) const MAX_END: u64 = i64::MAX as u64;

/// Maps an OS error to the storage error both protocols understand.
pub(super) fn io_err(e: io::Error) -> VfsError {
    use io::ErrorKind as K;
    match e.kind() {
        K::NotFound => VfsError::NotFound,
        K::AlreadyExists => VfsError::Exists,
        K::PermissionDenied => VfsError::Access,
        K::DirectoryNotEmpty => VfsError::NotEmpty,
        K::NotADirectory => VfsError::NotDir,
        K::IsADirectory => VfsError::IsDir,
        K::ReadOnlyFilesystem => VfsError::ReadOnly,
        K::StorageFull | K::QuotaExceeded => VfsError::NoSpace,
        K::FileTooLarge => VfsError::TooBig,
        K::CrossesDevices => VfsError::CrossDevice,
        K::StaleNetworkFileHandle => VfsError::Stale,
        K::InvalidInput => VfsError::Invalid,
        K::Unsupported => VfsError::NotSupported,
        _ => match e.raw_os_error() {
            Some(libc::ENAMETOOLONG) => VfsError::NameTooLong,
            Some(libc::EPERM) => VfsError::Access,
            Some(libc::ELOOP) => VfsError::Invalid,
            _ => VfsError::Io(e.to_string()),
        },
    }
}
