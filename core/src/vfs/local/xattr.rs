//! Extended attributes of a path (never following a final symlink) or of an
//! open descriptor: a thin get/set/remove/list wrapper over rustix's safe
//! calls, so that backends speak `io::Result` and read a missing attribute
//! as `None`. What the attributes mean is the callers' business
//! (local/dosattrib.rs, local/change_time.rs, local/streams.rs).

use std::io;
use std::path::Path;

/// How a value is written: replace or create (empty), only create
/// (`CREATE`), only replace (`REPLACE`).
pub use rustix::fs::XattrFlags;

/// Tries of a read that races with a writer growing the value.
const TRIES: usize = 4;

fn os(e: rustix::io::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// Whether `e` says the file system keeps no user extended attributes
/// (EOPNOTSUPP), or none on this kind of object (EPERM: a symlink).
pub fn unsupported(e: &io::Error) -> bool {
    let raw = e.raw_os_error();
    raw == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error()) || raw == Some(rustix::io::Errno::PERM.raw_os_error())
}

/// Whether `e` means "no such attribute" (ENODATA, spelt ENOATTR elsewhere).
pub fn is_missing(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::NODATA.raw_os_error())
}

/// Reads a value whose size `query` tells, with `read`; asks again when it
/// grew in between. `None` when there is no such attribute.
fn read_sized(
    query: impl Fn() -> rustix::io::Result<usize>,
    read: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
) -> io::Result<Option<Vec<u8>>> {
    for _ in 0..TRIES {
        let len = match query() {
            Ok(n) => n,
            Err(rustix::io::Errno::NODATA) => return Ok(None),
            Err(e) => return Err(os(e)),
        };
        let mut buf = vec![0u8; len];
        match read(&mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(rustix::io::Errno::NODATA) => return Ok(None),
            // Grown since the size was asked: ask again.
            Err(rustix::io::Errno::RANGE) => {}
            Err(e) => return Err(os(e)),
        }
    }
    Err(os(rustix::io::Errno::RANGE))
}

/// The value of attribute `name` of `path`; `None` if it has none.
pub fn get(path: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    read_sized(|| rustix::fs::lgetxattr_query(path, name), |buf| rustix::fs::lgetxattr(path, name, buf))
}

/// [`get`] through an open descriptor (no path walk).
pub fn fget(file: &std::fs::File, name: &str) -> io::Result<Option<Vec<u8>>> {
    read_sized(|| rustix::fs::fgetxattr_query(file, name), |buf| rustix::fs::fgetxattr(file, name, buf))
}

/// Sets attribute `name` of `path` to `value` (created or replaced).
pub fn set(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    set_with(path, name, value, XattrFlags::empty())
}

/// [`set`] with `flags` saying whether it must exist or must not.
pub fn set_with(path: &Path, name: &str, value: &[u8], flags: XattrFlags) -> io::Result<()> {
    rustix::fs::lsetxattr(path, name, value, flags).map_err(os)
}

/// Removes attribute `name` of `path` (ENODATA when it has none).
pub fn remove(path: &Path, name: &str) -> io::Result<()> {
    rustix::fs::lremovexattr(path, name).map_err(os)
}

/// The names of the attributes of `path` this process may see that are
/// UTF-8.
pub fn list(path: &Path) -> io::Result<Vec<String>> {
    let names = read_sized(|| rustix::fs::llistxattr_query(path), |buf| rustix::fs::llistxattr(path, buf))?;
    Ok(names
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| std::str::from_utf8(n).ok().map(str::to_owned))
        .collect())
}
