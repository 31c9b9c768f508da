//! What LocalFs and its stream store both need of files: OS errors as the
//! storage errors both protocols understand, the kernel's offset limit, and
//! a positional read of at most one READ's worth.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use nix::libc;

use crate::vfs::types::{MAX_READ, VfsError, VfsResult};

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

/// Reads from `f`, a file of `size` bytes, at `offset` into `buf`, at most
/// [`MAX_READ`] bytes and never past the end: the count read and whether
/// it reached the end of the file.
pub(super) fn read_at_most(f: &File, size: u64, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
    if offset >= size {
        return Ok((0, true));
    }
    let want = (size - offset).min(buf.len().min(MAX_READ as usize) as u64) as usize;
    let Some(buf) = buf.get_mut(..want) else { return Err(VfsError::Invalid) };
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
        match f.read_at(rest, offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    Ok((got, offset + got as u64 >= size))
}
