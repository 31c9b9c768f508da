//! Alternate data streams of LocalFs (MS-FSCC 2.1.4), in two places.
//!
//! Small streams are kept in extended attributes the way Samba's
//! `vfs_streams_xattr` keeps them, so a tree moves between the two servers
//! with them: stream `name` of a file or directory is the attribute
//! `user.DosStream.<name>:$DATA`, whose value is the stream's data followed
//! by one NUL byte (an attribute cannot be empty; a zero-byte stream is the
//! single NUL). A Linux attribute value holds at most 64 KiB
//! (XATTR_SIZE_MAX), so such a stream holds at most [`MAX_STREAM`] bytes;
//! ext4 without `ea_inode` refuses a value past one block (ENOSPC).
//!
//! Larger streams live in the sidecar (local/sidecar.rs): stream `name` of
//! inode `ino` whose generation is `gen` (from its birth time) is the
//! regular file `<root>/.polyshare\streams/<ino>/<gen>/<name>` ([`SIDECAR_DIR`]),
//! holding exactly the stream's data; it is read and written in place
//! (positional IO), never rewritten whole. A stream moves there when a
//! write or an extension takes it past [`MAX_STREAM`], or when the file
//! system refuses its attribute value as too big (E2BIG, ENOSPC: if the
//! disk is really full the sidecar write fails the same way). The move
//! writes the file aside, renames it in, then removes the attribute: a
//! crash in between leaves both, and the sidecar file, the newer, wins.
//! A sidecar stream stays there when it shrinks (a move back would rewrite
//! it for nothing). Its size limit is a file's (the kernel's `off_t`).
//! Stream names need no encoding: a valid stream name has no `/`, `\` or
//! NUL, is neither `.` nor `..`, and holds at most 255 bytes
//! ([`check_name`]), as a file name may. The generation directory makes a reused inode number start
//! afresh: the first sidecar stream of a new generation removes the
//! directories of older ones. The server's removal of a file's last name
//! (SMB delete, NFS REMOVE, a rename over it, rmdir) removes `<ino>`.
//! smbd sees only the attribute streams of a tree polyshare served.
//!
//! Where the file system keeps no user attributes (tmpfs before Linux 6.6;
//! the LocalFs sidecar mode) every stream lives in the sidecar, from its
//! creation.
//!
//! Identity: a stream gets an id above [`STREAM_ID_BASE`] (inode numbers
//! stay below it) when it is first opened, kept in memory for the life of
//! the server: after a restart the old ids are `Stale`, as an open on a
//! stream does not survive one. Stream names are matched ignoring case
//! ([`fold`]) and kept as first written.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::fileio::{MAX_END, io_err, read_at_most};
use super::xattr::{self, XattrFlags};
use crate::vfs::types::*;

/// The attribute name prefix of a stream (Samba's SAMBA_XATTR_DOSSTREAM_PREFIX).
pub const PREFIX: &str = "user.DosStream.";
/// The stream type every stream is stored with.
pub const SUFFIX: &str = ":$DATA";
/// Largest stream kept in an attribute: the 64 KiB value less its NUL.
pub const MAX_STREAM: u64 = 65535;
/// Stream ids start here; inode numbers are far below.
pub const STREAM_ID_BASE: ObjectId = 1 << 62;
/// The sidecar directory of the streams kept in files.
pub const SIDECAR_DIR: &str = ".polyshare\\streams";
/// The name a sidecar stream is written under before it is renamed in (a
/// `\` is in no stream name).
const ASIDE: &str = "\\new";
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
        Errno::EXIST => VfsError::Exists,
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

/// A stream's data as found: an attribute's value, or a sidecar file of
/// this size.
pub(super) enum Stored {
    Xattr(Vec<u8>),
    File(u64),
}

impl Stored {
    pub(super) fn size(&self) -> u64 {
        match self {
            Stored::Xattr(d) => d.len() as u64,
            Stored::File(n) => *n,
        }
    }
}

/// Whether a refused attribute value is refused for its size (the stream
/// then moves to the sidecar) rather than for good.
fn too_big_for_xattr(e: &VfsError) -> bool {
    matches!(e, VfsError::TooBig | VfsError::NoSpace)
}

/// Removes every sidecar stream of inode `ino` (its last name is gone).
pub(super) fn forget(root: &Path, ino: u64) -> io::Result<()> {
    match fs::remove_dir_all(root.join(SIDECAR_DIR).join(ino.to_string())) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The streams of one file or directory: the object's path (for its
/// attributes) and its sidecar directory (for the large streams).
pub(super) struct Streams {
    abs: PathBuf,
    /// `<root>/.polyshare\streams/<ino>`.
    ino_dir: PathBuf,
    /// `<ino_dir>/<generation>`.
    dir: PathBuf,
    /// Whether new streams go to the sidecar (no user attributes here).
    sidecar_only: bool,
}

impl Streams {
    pub(super) fn new(root: &Path, abs: PathBuf, ino: u64, generation: u64, sidecar_only: bool) -> Streams {
        let ino_dir = root.join(SIDECAR_DIR).join(ino.to_string());
        let dir = ino_dir.join(generation.to_string());
        Streams { abs, ino_dir, dir, sidecar_only }
    }

    /// The object's path.
    pub(super) fn path(&self) -> &Path {
        &self.abs
    }

    fn file_of(&self, stored: &str) -> PathBuf {
        self.dir.join(stored)
    }

    /// The size of sidecar stream `stored`, `None` when it has no file.
    fn file_size(&self, stored: &str) -> VfsResult<Option<u64>> {
        match fs::symlink_metadata(self.file_of(stored)) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => Ok(None),
            Err(e) => Err(io_err(e)),
        }
    }

    /// The attribute value of stream `stored`, `None` when there is none
    /// (or the file system keeps no attributes).
    fn xattr_value(&self, stored: &str) -> VfsResult<Option<Vec<u8>>> {
        match xattr::get(&self.abs, &attr_name(stored)).map_err(xerr) {
            Err(VfsError::NotSupported) => Ok(None),
            r => r,
        }
    }

    /// The names of the sidecar streams (anything else there, such as a
    /// file written aside, has a name no stream has).
    fn file_names(&self) -> VfsResult<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(io_err(e)),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e.map_err(io_err)?;
            if let Some(n) = e.file_name().to_str().filter(|n| check_stream_name(n).is_ok()) {
                out.push(n.to_owned());
            }
        }
        Ok(out)
    }

    /// The names of the attribute streams.
    fn xattr_names(&self) -> VfsResult<Vec<String>> {
        match xattr::list(&self.abs).map_err(xerr) {
            Ok(n) => Ok(n.iter().filter_map(|a| stream_of(a)).map(str::to_owned).collect()),
            Err(VfsError::NotSupported) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The stored name of the stream `name` (compared ignoring case), if
    /// the object has one.
    pub(super) fn stored_name(&self, name: &str) -> VfsResult<Option<String>> {
        if self.file_size(name)?.is_some() || self.xattr_value(name)?.is_some() {
            return Ok(Some(name.to_owned()));
        }
        let key = fold(name);
        let mut all = self.file_names()?;
        all.extend(self.xattr_names()?);
        Ok(all.into_iter().find(|n| fold(n) == key))
    }

    /// Stream `stored` as found (the sidecar file first: see the module
    /// docs); `Stale` if it is gone.
    pub(super) fn get(&self, stored: &str) -> VfsResult<Stored> {
        if let Some(n) = self.file_size(stored)? {
            return Ok(Stored::File(n));
        }
        let Some(mut data) = self.xattr_value(stored)? else { return Err(VfsError::Stale) };
        // The trailing NUL is not data (a value another tool wrote without
        // one loses nothing but that byte's place).
        if data.last() == Some(&0) {
            data.pop();
        }
        Ok(Stored::Xattr(data))
    }

    /// Opens sidecar stream `stored`.
    fn open_file(&self, stored: &str, write: bool) -> VfsResult<File> {
        OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(self.file_of(stored))
            .map_err(|e| if e.kind() == io::ErrorKind::NotFound { VfsError::Stale } else { io_err(e) })
    }

    /// Reads stream `stored` from `offset` into `buf`: how much, and
    /// whether that reached its end.
    pub(super) fn read(&self, stored: &str, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        match self.get(stored)? {
            Stored::Xattr(data) => {
                let size = data.len() as u64;
                if offset >= size {
                    return Ok((0, true));
                }
                let rest = data.get(offset as usize..).unwrap_or_default();
                let n = rest.len().min(buf.len()).min(MAX_READ as usize);
                buf.get_mut(..n).ok_or(VfsError::Invalid)?.copy_from_slice(rest.get(..n).unwrap_or_default());
                Ok((n, offset + n as u64 >= size))
            }
            Stored::File(_) => {
                let f = self.open_file(stored, false)?;
                let size = f.metadata().map_err(io_err)?.len();
                read_at_most(&f, size, offset, buf)
            }
        }
    }

    /// Stores `data` as attribute stream `stored`.
    fn store_xattr(&self, stored: &str, data: &[u8], flags: XattrFlags) -> VfsResult<()> {
        if data.len() as u64 > MAX_STREAM {
            return Err(VfsError::TooBig);
        }
        let mut value = Vec::with_capacity(data.len() + 1);
        value.extend_from_slice(data);
        value.push(0);
        xattr::set_with(&self.abs, &attr_name(stored), &value, flags).map_err(xerr)
    }

    /// The generation directory, made if missing; making it removes the
    /// directories of older generations of the inode number.
    fn make_dir(&self) -> VfsResult<()> {
        if self.dir.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(&self.dir).map_err(io_err)?;
        for e in fs::read_dir(&self.ino_dir).map_err(io_err)?.flatten() {
            if e.path() != self.dir {
                // Best effort: a stale directory costs space, not data.
                let _ = fs::remove_dir_all(e.path());
            }
        }
        Ok(())
    }

    /// Writes `data` as sidecar stream `stored` whole: aside, then renamed
    /// in, so the stream is never seen half written.
    fn write_file_whole(&self, stored: &str, data: &[u8]) -> VfsResult<()> {
        self.make_dir()?;
        let aside = self.dir.join(ASIDE);
        let written = fs::write(&aside, data).and_then(|()| fs::rename(&aside, self.file_of(stored)));
        if let Err(e) = written {
            let _ = fs::remove_file(&aside);
            return Err(io_err(e));
        }
        Ok(())
    }

    /// Moves attribute stream `stored`, now holding `data`, to the sidecar.
    fn to_file(&self, stored: &str, data: &[u8]) -> VfsResult<()> {
        self.write_file_whole(stored, data)?;
        match xattr::remove(&self.abs, &attr_name(stored)).map_err(xerr) {
            Ok(()) | Err(VfsError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Makes an empty stream `name` unless one exists.
    pub(super) fn create(&self, name: &str) -> VfsResult<()> {
        if !self.sidecar_only {
            match self.store_xattr(name, &[], XattrFlags::CREATE) {
                Ok(()) | Err(VfsError::Exists) => return Ok(()),
                Err(VfsError::NotSupported) => {}
                Err(e) => return Err(e),
            }
        }
        self.make_dir()?;
        match OpenOptions::new().write(true).create_new(true).open(self.file_of(name)) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(io_err(e)),
            _ => Ok(()),
        }
    }

    /// Writes `bytes` at `offset` of stream `stored`; its new size.
    pub(super) fn write(&self, stored: &str, offset: u64, bytes: &[u8]) -> VfsResult<u64> {
        let end = offset.checked_add(bytes.len() as u64).filter(|&e| e <= MAX_END).ok_or(VfsError::TooBig)?;
        match self.get(stored)? {
            Stored::Xattr(mut data) if end <= MAX_STREAM => {
                if (data.len() as u64) < end {
                    data.resize(end as usize, 0);
                }
                data.get_mut(offset as usize..end as usize).ok_or(VfsError::Invalid)?.copy_from_slice(bytes);
                let size = data.len() as u64;
                match self.store_xattr(stored, &data, XattrFlags::REPLACE) {
                    Err(e) if too_big_for_xattr(&e) => self.to_file(stored, &data)?,
                    r => r?,
                }
                Ok(size)
            }
            // Moved as it is, then written in place: a write far past the
            // end leaves a hole instead of a buffer of zeros.
            Stored::Xattr(data) => {
                self.to_file(stored, &data)?;
                self.write_file(stored, offset, bytes)
            }
            Stored::File(_) => self.write_file(stored, offset, bytes),
        }
    }

    fn write_file(&self, stored: &str, offset: u64, bytes: &[u8]) -> VfsResult<u64> {
        let f = self.open_file(stored, true)?;
        f.write_all_at(bytes, offset).map_err(io_err)?;
        Ok(f.metadata().map_err(io_err)?.len())
    }

    /// Truncates or extends stream `stored` to `size`.
    pub(super) fn truncate(&self, stored: &str, size: u64) -> VfsResult<()> {
        if size > MAX_END {
            return Err(VfsError::TooBig);
        }
        match self.get(stored)? {
            Stored::Xattr(mut data) if size <= MAX_STREAM => {
                data.resize(size as usize, 0);
                match self.store_xattr(stored, &data, XattrFlags::REPLACE) {
                    Err(e) if too_big_for_xattr(&e) => self.to_file(stored, &data),
                    r => r,
                }
            }
            Stored::Xattr(data) => {
                self.to_file(stored, &data)?;
                self.truncate_file(stored, size)
            }
            Stored::File(_) => self.truncate_file(stored, size),
        }
    }

    fn truncate_file(&self, stored: &str, size: u64) -> VfsResult<()> {
        self.open_file(stored, true)?.set_len(size).map_err(io_err)
    }

    /// Every stream with its size (a name in both places once, with the
    /// sidecar's size).
    pub(super) fn list(&self) -> VfsResult<Vec<(String, u64)>> {
        let mut out = Vec::new();
        let files = self.file_names()?;
        for n in &files {
            // None: removed since it was listed.
            if let Some(size) = self.file_size(n)? {
                out.push((n.clone(), size));
            }
        }
        for n in self.xattr_names()? {
            if files.contains(&n) {
                continue;
            }
            if let Some(d) = self.xattr_value(&n)? {
                out.push((n, d.len().saturating_sub(1) as u64));
            }
        }
        Ok(out)
    }

    /// Removes stream `stored` from wherever it is (both places, after a
    /// move a crash interrupted); `NotFound` if it is in neither.
    pub(super) fn remove(&self, stored: &str) -> VfsResult<()> {
        let file = match fs::remove_file(self.file_of(stored)) {
            Ok(()) => true,
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => false,
            Err(e) => return Err(io_err(e)),
        };
        match xattr::remove(&self.abs, &attr_name(stored)).map_err(xerr) {
            Ok(()) => Ok(()),
            Err(VfsError::NotFound | VfsError::NotSupported) if file => Ok(()),
            Err(VfsError::NotSupported) => Err(VfsError::NotFound),
            Err(e) => Err(e),
        }
    }

    /// Stream `old` becomes `to`, in the place it is kept: an attribute's
    /// value is written under the new name, then the old one removed (a
    /// crash in between leaves both); a sidecar file is renamed. A stream
    /// `to` (or one whose name differs from it only in case) is replaced.
    pub(super) fn rename(&self, old: &str, to: &str) -> VfsResult<()> {
        let data = self.get(old)?;
        if let Some(target) = self.stored_name(to)?.filter(|t| t != old) {
            self.remove(&target)?;
        }
        match data {
            Stored::Xattr(d) => {
                match self.store_xattr(to, &d, XattrFlags::empty()) {
                    Err(e) if too_big_for_xattr(&e) => self.write_file_whole(to, &d)?,
                    r => r?,
                }
                if old != to {
                    xattr::remove(&self.abs, &attr_name(old)).map_err(xerr)?;
                }
            }
            Stored::File(_) => {
                if old != to {
                    fs::rename(self.file_of(old), self.file_of(to)).map_err(io_err)?;
                }
            }
        }
        Ok(())
    }
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
