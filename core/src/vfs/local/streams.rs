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
use std::fs::Metadata;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::xattr::{self, XattrFlags};
use super::{LocalFs, attr_of, io_err};
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

fn check_stream_name(name: &str) -> VfsResult<()> {
    check_name(name)?;
    if name.contains(':') {
        return Err(VfsError::InvalidName);
    }
    Ok(())
}

fn xerr(e: io::Error) -> VfsError {
    if xattr::is_missing(&e) {
        return VfsError::NotFound;
    }
    match e.raw_os_error() {
        Some(c) if c == rustix::io::Errno::TOOBIG.raw_os_error() => VfsError::TooBig,
        Some(c) if c == rustix::io::Errno::NOTSUP.raw_os_error() => VfsError::NotSupported,
        _ => io_err(e),
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
    fn id_for(&mut self, file: ObjectId, name: &str) -> ObjectId {
        if let Some(&id) = self.by_key.get(&(file, name.to_owned())) {
            return id;
        }
        let id = STREAM_ID_BASE + self.next;
        self.next += 1;
        self.by_id.insert(id, (file, name.to_owned()));
        self.by_key.insert((file, name.to_owned()), id);
        id
    }

    fn forget(&mut self, file: ObjectId, name: &str) {
        if let Some(id) = self.by_key.remove(&(file, name.to_owned())) {
            self.by_id.remove(&id);
        }
    }

    /// The file and stored name of stream `id`.
    pub(super) fn get(&self, id: ObjectId) -> Option<(ObjectId, String)> {
        self.by_id.get(&id).cloned()
    }
}

impl LocalFs {
    /// The absolute path and metadata of `file`, which may carry streams
    /// (a regular file or a directory).
    fn stream_base(&self, file: ObjectId) -> VfsResult<(PathBuf, Metadata)> {
        let (rel, m) = self.resolve(file)?;
        if !(m.is_file() || m.is_dir()) {
            return Err(VfsError::Invalid);
        }
        Ok((self.abs(&rel), m))
    }

    /// The stored name of `file`'s stream `name` (compared ignoring case).
    fn stored_name(&self, abs: &std::path::Path, name: &str) -> VfsResult<Option<String>> {
        match xattr::get(abs, &attr_name(name)) {
            Ok(_) => return Ok(Some(name.to_owned())),
            Err(e) if xattr::is_missing(&e) => {}
            Err(e) => return Err(xerr(e)),
        }
        let key = fold(name);
        Ok(xattr::list(abs)
            .map_err(xerr)?
            .iter()
            .filter_map(|a| stream_of(a))
            .find(|n| fold(n) == key)
            .map(str::to_owned))
    }

    fn stream_ids(&self) -> std::sync::MutexGuard<'_, StreamIds> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stream_attr_of(&self, id: ObjectId, file: ObjectId, base: &Metadata, size: u64) -> FileAttr {
        let mut a = attr_of(base);
        a.id = id;
        a.kind = FileType::Stream;
        a.nlink = 1;
        a.size = size;
        a.used = size.div_ceil(4096) * 4096;
        a.parent_file = Some(file);
        a
    }

    /// The file, its path and the attribute of stream `id`, with the
    /// stream's data.
    fn stream_data(&self, id: ObjectId) -> VfsResult<(ObjectId, PathBuf, Metadata, String, Vec<u8>)> {
        let (file, name) = self.stream_ids().get(id).ok_or(VfsError::Stale)?;
        let (abs, m) = self.stream_base(file)?;
        let attr = attr_name(&name);
        let mut data = match xattr::get(&abs, &attr) {
            Ok(d) => d,
            Err(e) if xattr::is_missing(&e) => return Err(VfsError::Stale),
            Err(e) => return Err(xerr(e)),
        };
        // The trailing NUL is not data (an attribute written by another
        // tool without one loses nothing but that byte's place).
        if data.last() == Some(&0) {
            data.pop();
        }
        Ok((file, abs, m, attr, data))
    }

    fn store(abs: &std::path::Path, attr: &str, mut data: Vec<u8>, flags: XattrFlags) -> VfsResult<()> {
        if data.len() as u64 > MAX_STREAM {
            return Err(VfsError::TooBig);
        }
        data.push(0);
        xattr::set(abs, attr, &data, flags).map_err(xerr)
    }

    pub(super) fn stream_getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        let (file, _, m, _, data) = self.stream_data(id)?;
        Ok(self.stream_attr_of(id, file, &m, data.len() as u64))
    }

    pub(super) fn stream_file(&self, id: ObjectId) -> VfsResult<ObjectId> {
        self.stream_ids().get(id).map(|(f, _)| f).ok_or(VfsError::Stale)
    }

    pub(super) fn stream_read(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        let (_, _, _, _, data) = self.stream_data(id)?;
        let size = data.len() as u64;
        if offset >= size {
            return Ok((0, true));
        }
        let rest = data.get(offset as usize..).unwrap_or_default();
        let n = rest.len().min(buf.len()).min(MAX_READ as usize);
        buf.get_mut(..n).ok_or(VfsError::Invalid)?.copy_from_slice(rest.get(..n).unwrap_or_default());
        Ok((n, offset + n as u64 >= size))
    }

    /// Rewrites stream `id` with `change` applied to its data, serialized
    /// with every other stream change (a read-modify-write of the value).
    fn stream_change(&self, id: ObjectId, change: impl FnOnce(&mut Vec<u8>) -> VfsResult<()>) -> VfsResult<FileAttr> {
        let _one = self.stream_writes.lock().unwrap_or_else(|e| e.into_inner());
        let (file, abs, _, attr, mut data) = self.stream_data(id)?;
        change(&mut data)?;
        let size = data.len() as u64;
        Self::store(&abs, &attr, data, XattrFlags::REPLACE)?;
        let m = super::lstat(&abs)?;
        Ok(self.stream_attr_of(id, file, &m, size))
    }

    pub(super) fn stream_write(&self, id: ObjectId, offset: u64, bytes: &[u8]) -> VfsResult<FileAttr> {
        let end = offset.checked_add(bytes.len() as u64).filter(|&e| e <= MAX_STREAM).ok_or(VfsError::TooBig)?;
        self.stream_change(id, |data| {
            if (data.len() as u64) < end {
                data.resize(end as usize, 0);
            }
            data.get_mut(offset as usize..end as usize).ok_or(VfsError::Invalid)?.copy_from_slice(bytes);
            Ok(())
        })
    }

    pub(super) fn stream_truncate(&self, id: ObjectId, size: u64) -> VfsResult<FileAttr> {
        if size > MAX_STREAM {
            return Err(VfsError::TooBig);
        }
        self.stream_change(id, |data| {
            data.resize(size as usize, 0);
            Ok(())
        })
    }

    pub(super) fn stream_open(&self, file: ObjectId, name: &str, create: bool) -> VfsResult<FileAttr> {
        check_stream_name(name)?;
        let (abs, m) = self.stream_base(file)?;
        let stored = match self.stored_name(&abs, name)? {
            Some(s) => s,
            None if create => {
                match Self::store(&abs, &attr_name(name), Vec::new(), XattrFlags::CREATE) {
                    Ok(()) | Err(VfsError::Exists) => {}
                    Err(e) => return Err(e),
                }
                name.to_owned()
            }
            None => return Err(VfsError::NotFound),
        };
        let id = self.stream_ids().id_for(file, &stored);
        let size = match xattr::get(&abs, &attr_name(&stored)) {
            Ok(d) => d.len().saturating_sub(1) as u64,
            Err(e) => return Err(xerr(e)),
        };
        Ok(self.stream_attr_of(id, m.ino(), &m, size))
    }

    pub(super) fn stream_list(&self, file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        let (abs, _) = self.stream_base(file)?;
        let names = match xattr::list(&abs).map_err(xerr) {
            Ok(n) => n,
            // No user attributes on this file system: no streams.
            Err(VfsError::NotSupported) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for a in &names {
            let Some(n) = stream_of(a) else { continue };
            match xattr::get(&abs, a) {
                Ok(d) => out.push((n.to_owned(), d.len().saturating_sub(1) as u64)),
                // Removed since it was listed.
                Err(e) if xattr::is_missing(&e) => {}
                Err(e) => return Err(xerr(e)),
            }
        }
        Ok(out)
    }

    pub(super) fn stream_remove(&self, file: ObjectId, name: &str) -> VfsResult<()> {
        check_stream_name(name)?;
        let (abs, _) = self.stream_base(file)?;
        let stored = self.stored_name(&abs, name)?.ok_or(VfsError::NotFound)?;
        xattr::remove(&abs, &attr_name(&stored)).map_err(xerr)?;
        self.stream_ids().forget(file, &stored);
        Ok(())
    }
}
