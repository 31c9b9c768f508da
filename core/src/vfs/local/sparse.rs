//! Holes on disk for FSCTL_SET_ZERO_DATA and FSCTL_QUERY_ALLOCATED_RANGES
//! (MS-FSA 2.1.5.10.34, 2.1.5.10.22): `fallocate(PUNCH_HOLE | KEEP_SIZE)`
//! frees a range (the kernel zeros the partial blocks at its edges), and
//! `lseek(SEEK_DATA / SEEK_HOLE)` finds what is allocated. tmpfs, ext4, xfs
//! and btrfs have both.

use std::fs::File;
use std::io;

use rustix::fs::{FallocateFlags, SeekFrom};
use rustix::io::Errno;

/// The errors of the calls here, as `io::Error`s for the caller to map.
type IoResult<T> = Result<T, io::Error>;

fn errno(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// Zeros `[offset, offset + len)` of `f` (the caller cuts it at the end of
/// the file). Without `deallocate` the punched range is allocated again
/// (`fallocate(KEEP_SIZE)`), as smbd's strict allocate does for a file that
/// is not sparse; where that fails the range reads as zeros all the same.
/// `Ok(false)`: the file system cannot punch holes, the caller writes zeros.
pub(super) fn punch(f: &File, offset: u64, len: u64, deallocate: bool) -> IoResult<bool> {
    if len == 0 {
        return Ok(true);
    }
    match rustix::fs::fallocate(f, FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE, offset, len) {
        Ok(()) => {}
        Err(Errno::OPNOTSUPP) => return Ok(false),
        Err(e) => return Err(errno(e)),
    }
    if !deallocate {
        // Best effort: the data is zero whether or not blocks back it.
        let _ = rustix::fs::fallocate(f, FallocateFlags::KEEP_SIZE, offset, len);
    }
    Ok(true)
}

/// The allocated ranges of `f` inside `[offset, end)` (`end` at most the
/// file's size), at most `max`; `None` when the file system cannot tell
/// (then everything counts as allocated).
pub(super) fn data_ranges(f: &File, offset: u64, end: u64, max: usize) -> IoResult<Option<Vec<(u64, u64)>>> {
    let mut out = Vec::new();
    let mut at = offset;
    while at < end && out.len() < max {
        let data = match rustix::fs::seek(f, SeekFrom::Data(at)) {
            Ok(d) => d,
            // No data at or after `at` (the file may also have shrunk).
            Err(Errno::NXIO) => break,
            Err(Errno::INVAL) if out.is_empty() => return Ok(None),
            Err(e) => return Err(errno(e)),
        };
        if data >= end {
            break;
        }
        let hole = match rustix::fs::seek(f, SeekFrom::Hole(data)) {
            Ok(h) => h,
            Err(Errno::NXIO) => end,
            Err(e) => return Err(errno(e)),
        };
        let stop = hole.clamp(data + 1, end);
        out.push((data, stop - data));
        at = stop;
    }
    Ok(Some(out))
}
