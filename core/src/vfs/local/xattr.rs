//! Extended attributes of a path, never following a final symlink: a thin
//! get/set/remove/list wrapper over rustix's safe `l*xattr` calls, so that
//! backends speak `io::Result` and treat "no such attribute" as `None`.

use std::io;
use std::path::Path;

use rustix::fs::XattrFlags;

/// Largest attribute value read (Linux's XATTR_SIZE_MAX).
pub const MAX_VALUE: usize = 64 << 10;

fn os(e: rustix::io::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// Whether `e` says the file system keeps no user extended attributes
/// (EOPNOTSUPP), or none on this kind of object (EPERM: a symlink).
pub fn unsupported(e: &io::Error) -> bool {
    let raw = e.raw_os_error();
    raw == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error()) || raw == Some(rustix::io::Errno::PERM.raw_os_error())
}

/// The value of attribute `name` of `path`; `None` if it has none.
pub fn get(path: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    loop {
        match rustix::fs::lgetxattr(path, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(rustix::io::Errno::NODATA) => return Ok(None),
            Err(rustix::io::Errno::RANGE) if buf.len() < MAX_VALUE => buf.resize(MAX_VALUE, 0),
            Err(e) => return Err(os(e)),
        }
    }
}

/// [`get`] through an open descriptor (no path walk).
pub fn fget(file: &std::fs::File, name: &str) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    loop {
        match rustix::fs::fgetxattr(file, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(rustix::io::Errno::NODATA) => return Ok(None),
            Err(rustix::io::Errno::RANGE) if buf.len() < MAX_VALUE => buf.resize(MAX_VALUE, 0),
            Err(e) => return Err(os(e)),
        }
    }
}

/// Sets attribute `name` of `path` to `value` (created or replaced).
pub fn set(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    rustix::fs::lsetxattr(path, name, value, XattrFlags::empty()).map_err(os)
}

/// Removes attribute `name` of `path`; not having it is no error.
#[allow(dead_code)] // the streams kept in xattrs use it
pub fn remove(path: &Path, name: &str) -> io::Result<()> {
    match rustix::fs::lremovexattr(path, name) {
        Ok(()) | Err(rustix::io::Errno::NODATA) => Ok(()),
        Err(e) => Err(os(e)),
    }
}

/// The names of the attributes of `path` this process may see.
#[allow(dead_code)] // the streams kept in xattrs use it
pub fn list(path: &Path) -> io::Result<Vec<String>> {
    let mut buf = vec![0u8; 1024];
    let n = loop {
        match rustix::fs::llistxattr(path, &mut buf[..]) {
            Ok(n) => break n,
            Err(rustix::io::Errno::RANGE) if buf.len() < MAX_VALUE => buf.resize(MAX_VALUE, 0),
            Err(e) => return Err(os(e)),
        }
    };
    Ok(buf[..n].split(|&b| b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect())
}
