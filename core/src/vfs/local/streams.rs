//! Alternate data streams of LocalFs (MS-FSCC 2.1.4), kept in extended
//! attributes the way Samba's `vfs_streams_xattr` keeps them, so a tree
//! moves between the two servers with its streams: stream `name` of a file
//! or directory is the attribute `user.DosStream.<name>:$DATA`, whose value
//! is the stream's data followed by one NUL byte (an attribute cannot be
//! empty; a zero-byte stream is the single NUL).
//!
//! Size: a Linux attribute value holds at most 64 KiB (XATTR_SIZE_MAX), so a
//! stream holds at most [`MAX_STREAM`] bytes; a write or truncation past it
//! is refused with `TooBig` (STATUS_FILE_TOO_LARGE / NFS3ERR_FBIG) and
//! changes nothing. A file system without user attributes (tmpfs before
//! Linux 6.6) refuses streams with `NotSupported`.
//!
//! Identity: a stream gets an id above [`STREAM_ID_BASE`] (inode numbers
//! stay below it) when it is first opened, kept in memory for the life of
//! the server: after a restart the old ids are `Stale`, as an open on a
//! stream does not survive one. Stream names are matched ignoring case
//! ([`fold`]) and kept as first written.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use super::xattr::{self, XattrFlags};
use crate::vfs::types::*;

/// The attribute name prefix of a stream (Samba's SAMBA_XATTR_DOSSTREAM_PREFIX).
pub const PREFIX: &str = "user.DosStream.";
/// The stream type every stream is stored with.
pub const SUFFIX: &str = ":$DATA";
/// Largest stream: the 64 KiB attribute value less its trailing NUL.
pub const MAX_STREAM: u64 = 65535;
/// Stream ids start here; inode numbers are far below.
pub const STREAM_ID_BASE: ObjectId = 1 << 62;

/// Whether `id` names a stream rather than an inode.
pub fn is_stream_id(id: ObjectId) -> bool {
    id >= STREAM_ID_BASE
}

fn attr_name(name: &str) -> String {
    format!("{PREFIX}{name}{SUFFIX}")
}

/// The stream name an attribute name stores, if it stores one.
fn stream_of(attr: &str) -> Option<&str> {
    attr.strip_prefix(PREFIX)?.strip_suffix(SUFFIX).filter(|n| !n.is_empty())
}

pub(super) fn check_stream_name(name: &str) -> VfsResult<()> {
    check_name(name)?;
    if name.contains(':') {
        return Err(VfsError::InvalidName);
    }
    Ok(())
}

/// An attribute call's error as a storage error: no such attribute is no
/// such stream; a value over the attribute limit is a file too large.
fn xerr(e: io::Error) -> VfsError {
    use rustix::io::Errno;
    if xattr::is_missing(&e) {
        return VfsError::NotFound;
    }
    let Some(code) = e.raw_os_error() else { return VfsError::Io(e.to_string()) };
    match Errno::from_raw_os_error(code) {
        Errno::TOOBIG => VfsError::TooBig,
        Errno::NOTSUP => VfsError::NotSupported,
        Errno::NOSPC | Errno::DQUOT => VfsError::NoSpace,
        Errno::ACCESS | Errno::PERM => VfsError::Access,
        Errno::ROFS => VfsError::ReadOnly,
        Errno::NOENT => VfsError::Stale,
        _ => VfsError::Io(e.to_string()),
    }
}

/// The ids given to streams: id <-> (file, stored name).
#[derive(Debug, Default)]
pub(super) struct StreamIds {
    by_id: BTreeMap<ObjectId, (ObjectId, String)>,
    by_key: BTreeMap<(ObjectId, String), ObjectId>,
    next: u64,
}

impl StreamIds {
    pub(super) fn id_for(&mut self, file: ObjectId, name: &str) -> ObjectId {
        if let Some(&id) = self.by_key.get(&(file, name.to_owned())) {
            return id;
        }
        let id = STREAM_ID_BASE + self.next;
        self.next += 1;
        self.by_id.insert(id, (file, name.to_owned()));
        self.by_key.insert((file, name.to_owned()), id);
        id
    }

    pub(super) fn forget(&mut self, file: ObjectId, name: &str) {
        if let Some(id) = self.by_key.remove(&(file, name.to_owned())) {
            self.by_id.remove(&id);
        }
    }

    /// Stream `from` of `file` is now `to`: its id (if it has one) follows,
    /// and the id `to` had, if any, is forgotten.
    pub(super) fn rename(&mut self, file: ObjectId, from: &str, to: &str) {
        let moved = self.by_key.remove(&(file, from.to_owned()));
        if let Some(old) = self.by_key.remove(&(file, to.to_owned())) {
            self.by_id.remove(&old);
        }
        if let Some(id) = moved {
            self.by_id.insert(id, (file, to.to_owned()));
            self.by_key.insert((file, to.to_owned()), id);
        }
    }

    /// The file and stored name of stream `id`.
    pub(super) fn get(&self, id: ObjectId) -> Option<(ObjectId, String)> {
        self.by_id.get(&id).cloned()
    }
}

/// The stored name of the stream `name` of the file at `abs` (compared
/// ignoring case), if it has one.
pub(super) fn stored_name(abs: &Path, name: &str) -> VfsResult<Option<String>> {
    if xattr::get(abs, &attr_name(name)).map_err(xerr)?.is_some() {
        return Ok(Some(name.to_owned()));
    }
    let key = fold(name);
    Ok(xattr::list(abs).map_err(xerr)?.iter().filter_map(|a| stream_of(a)).find(|n| fold(n) == key).map(str::to_owned))
}

/// The data of stream `stored` of the file at `abs`; `Stale` if it is gone.
pub(super) fn load(abs: &Path, stored: &str) -> VfsResult<Vec<u8>> {
    let Some(mut data) = xattr::get(abs, &attr_name(stored)).map_err(xerr)? else { return Err(VfsError::Stale) };
    // The trailing NUL is not data (a value another tool wrote without one
    // loses nothing but that byte's place).
    if data.last() == Some(&0) {
        data.pop();
    }
    Ok(data)
}

/// Stores `data` as stream `stored` of the file at `abs`.
pub(super) fn store(abs: &Path, stored: &str, mut data: Vec<u8>, flags: XattrFlags) -> VfsResult<()> {
    if data.len() as u64 > MAX_STREAM {
        return Err(VfsError::TooBig);
    }
    data.push(0);
    xattr::set_with(abs, &attr_name(stored), &data, flags).map_err(xerr)
}

/// Makes an empty stream `name` of the file at `abs` unless one exists.
pub(super) fn create(abs: &Path, name: &str) -> VfsResult<()> {
    match store(abs, name, Vec::new(), XattrFlags::CREATE) {
        Ok(()) | Err(VfsError::Exists) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every stream of the file at `abs` with its size; none where the file
/// system has no user attributes.
pub(super) fn list(abs: &Path) -> VfsResult<Vec<(String, u64)>> {
    let names = match xattr::list(abs).map_err(xerr) {
        Ok(n) => n,
        Err(VfsError::NotSupported) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for a in &names {
        let Some(n) = stream_of(a) else { continue };
        // None: removed since it was listed.
        if let Some(d) = xattr::get(abs, a).map_err(xerr)? {
            out.push((n.to_owned(), d.len().saturating_sub(1) as u64));
        }
    }
    Ok(out)
}

/// Removes stream `stored` of the file at `abs`.
pub(super) fn remove(abs: &Path, stored: &str) -> VfsResult<()> {
    xattr::remove(abs, &attr_name(stored)).map_err(xerr)
}

/// A stream's attributes: its file's (`base`), with its own id, kind and size.
pub(super) fn attr(mut base: FileAttr, id: ObjectId, file: ObjectId, size: u64) -> FileAttr {
    base.id = id;
    base.kind = FileType::Stream;
    base.nlink = 1;
    base.size = size;
    base.used = size.div_ceil(4096) * 4096;
    base.parent_file = Some(file);
    base
}
