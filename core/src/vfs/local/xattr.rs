//! A thin wrapper over the Linux extended-attribute calls (`rustix::fs`),
//! on paths without following a final symlink: get, set, remove, list.
//! What the attributes mean is the callers' business (local/streams.rs).

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

/// Whether `e` means "no such attribute" (ENODATA, spelt ENOATTR elsewhere).
pub fn is_missing(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::NODATA.raw_os_error())
}

/// The value of `name` on `path`.
pub fn get(path: &Path, name: &str) -> io::Result<Vec<u8>> {
    for _ in 0..TRIES {
        let len = rustix::fs::lgetxattr_query(path, name).map_err(os)?;
        let mut buf = vec![0u8; len];
        match rustix::fs::lgetxattr(path, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            // Grown since the size was asked: ask again.
            Err(rustix::io::Errno::RANGE) => {}
            Err(e) => return Err(os(e)),
        }
    }
    Err(io::Error::from_raw_os_error(rustix::io::Errno::RANGE.raw_os_error()))
}

/// Sets `name` on `path` to `value`.
pub fn set(path: &Path, name: &str, value: &[u8], flags: XattrFlags) -> io::Result<()> {
    rustix::fs::lsetxattr(path, name, value, flags).map_err(os)
}

/// Removes `name` from `path`.
pub fn remove(path: &Path, name: &str) -> io::Result<()> {
    rustix::fs::lremovexattr(path, name).map_err(os)
}

/// The names of the attributes of `path` that are UTF-8.
pub fn list(path: &Path) -> io::Result<Vec<String>> {
    for _ in 0..TRIES {
        let len = rustix::fs::llistxattr_query(path).map_err(os)?;
        let mut buf = vec![0u8; len];
        match rustix::fs::llistxattr(path, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf
                    .split(|&b| b == 0)
                    .filter(|n| !n.is_empty())
                    .filter_map(|n| std::str::from_utf8(n).ok().map(str::to_owned))
                    .collect());
            }
            Err(rustix::io::Errno::RANGE) => {}
            Err(e) => return Err(os(e)),
        }
    }
    Err(io::Error::from_raw_os_error(rustix::io::Errno::RANGE.raw_os_error()))
}
