//! A Vfs wrapper that notes every change to the tree as it passes, so one
//! place sees what SMB and NFS both do: SMB CHANGE_NOTIFY (MS-SMB2 3.3.5.19,
//! MS-FSA 2.1.5.10) is answered from these notes whichever protocol made the
//! change. The notes use the MS-FSCC 2.7.1 vocabulary (actions and
//! FILE_NOTIFY_CHANGE_* filter bits).

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::types::{CreateAttr, DirEntry, FileAttr, FileType, FsStat, ObjectId, SetAttr, Vfs, VfsResult};
use crate::time::Timespec;

/// MS-FSCC 2.7.1 FILE_NOTIFY_INFORMATION Action values.
pub mod action {
    /// FILE_ACTION_ADDED: a name appeared.
    pub const ADDED: u32 = 1;
    /// FILE_ACTION_REMOVED: a name went away.
    pub const REMOVED: u32 = 2;
    /// FILE_ACTION_MODIFIED: the entry changed; noted here for the target a
    /// rename across directories replaced.
    pub const MODIFIED: u32 = 3;
    /// FILE_ACTION_RENAMED_OLD_NAME: the name before a rename within one
    /// directory.
    pub const RENAMED_OLD_NAME: u32 = 4;
    /// FILE_ACTION_RENAMED_NEW_NAME: the name after it.
    pub const RENAMED_NEW_NAME: u32 = 5;
}

/// MS-SMB2 2.2.35 CompletionFilter bits (FILE_NOTIFY_CHANGE_*).
pub mod filter {
    /// FILE_NOTIFY_CHANGE_FILE_NAME: a non-directory name was added, removed
    /// or renamed.
    pub const FILE_NAME: u32 = 0x0001;
    /// FILE_NOTIFY_CHANGE_DIR_NAME: a directory name was added, removed or
    /// renamed.
    pub const DIR_NAME: u32 = 0x0002;
    /// FILE_NOTIFY_CHANGE_ATTRIBUTES: attributes changed (here: mode or
    /// owner).
    pub const ATTRIBUTES: u32 = 0x0004;
    /// FILE_NOTIFY_CHANGE_SIZE: the file size changed.
    pub const SIZE: u32 = 0x0008;
    /// FILE_NOTIFY_CHANGE_LAST_WRITE: the last write time changed.
    pub const LAST_WRITE: u32 = 0x0010;
    /// FILE_NOTIFY_CHANGE_LAST_ACCESS: the last access time changed.
    pub const LAST_ACCESS: u32 = 0x0020;
    /// FILE_NOTIFY_CHANGE_CREATION: the creation time changed.
    pub const CREATION: u32 = 0x0040;
    /// FILE_NOTIFY_CHANGE_SECURITY: the security descriptor changed (here:
    /// mode or owner).
    pub const SECURITY: u32 = 0x0100;
    /// FILE_NOTIFY_CHANGE_EA: extended attributes.
    pub const EA: u32 = 0x0080;
    /// FILE_NOTIFY_CHANGE_STREAM_NAME: an alternate data stream was created
    /// or removed.
    pub const STREAM_NAME: u32 = 0x0200;
    /// FILE_NOTIFY_CHANGE_STREAM_SIZE: a stream's size changed.
    pub const STREAM_SIZE: u32 = 0x0400;
    /// FILE_NOTIFY_CHANGE_STREAM_WRITE: a stream was written.
    pub const STREAM_WRITE: u32 = 0x0800;
}

/// Notes kept between two drains at most; past it one overflow note stands
/// for the rest (watchers then rescan, as on STATUS_NOTIFY_ENUM_DIR).
pub const MAX_NOTES: usize = 4096;

/// One noted change, as SMB CHANGE_NOTIFY needs it to match watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `name` in `dir` appeared, went away or was renamed.
    Entry {
        /// The directory holding the name.
        dir: ObjectId,
        /// The name as given to the operation.
        name: String,
        /// What happened to it ([`action`] value).
        action: u32,
        /// FILE_NAME, or DIR_NAME when the name is a directory's.
        filter: u32,
    },
    /// Data or attributes of object `id` changed, or one of its streams
    /// came or went; names are not known here.
    Object {
        /// The object changed.
        id: ObjectId,
        /// What changed ([`filter`] bits).
        filter: u32,
    },
    /// More changed than was noted.
    Overflow,
}

/// The wrapped backend and the notes not yet taken.
#[derive(Debug)]
pub struct Journaled {
    inner: Arc<dyn Vfs>,
    notes: Mutex<Vec<Change>>,
}

impl Journaled {
    /// Wraps `inner`, with nothing noted yet.
    pub fn new(inner: Box<dyn Vfs>) -> Self {
        Self { inner: Arc::from(inner), notes: Mutex::new(Vec::new()) }
    }

    /// The backend itself, for storage workers: what they change is noted
    /// when the core takes their completion ([`Journaled::note_write`]).
    pub fn backend(&self) -> Arc<dyn Vfs> {
        self.inner.clone()
    }

    /// The changes since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(self.notes.get_mut().unwrap_or_else(|e| e.into_inner()))
    }

    /// Whether anything was noted since the last [`Journaled::take_changes`]:
    /// the settle loop checks it before draining.
    pub fn has_changes(&self) -> bool {
        !self.lock().is_empty()
    }

    /// A write to `id` made through [`Journaled::backend`] completed.
    pub fn note_write(&self, id: ObjectId) {
        self.note(Change::Object { id, filter: filter::SIZE | filter::LAST_WRITE });
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Change>> {
        self.notes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note(&self, c: Change) {
        let mut notes = self.lock();
        match notes.len() {
            n if n < MAX_NOTES => notes.push(c),
            MAX_NOTES => notes.push(Change::Overflow),
            _ => {}
        }
    }

    fn entry(&self, dir: ObjectId, name: &str, action: u32, is_dir: bool) {
        let filter = if is_dir { filter::DIR_NAME } else { filter::FILE_NAME };
        self.note(Change::Entry { dir, name: name.to_string(), action, filter });
    }

    fn is_dir(&self, dir: ObjectId, name: &str) -> bool {
        self.inner.lookup(dir, name).is_ok_and(|a| a.kind == FileType::Directory)
    }
}

impl Vfs for Journaled {
    fn root(&self) -> ObjectId {
        self.inner.root()
    }

    fn getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        self.inner.getattr(id)
    }

    fn lookup(&self, dir: ObjectId, name: &str) -> VfsResult<FileAttr> {
        self.inner.lookup(dir, name)
    }

    fn lookup_nocase(&self, dir: ObjectId, name: &str) -> VfsResult<(FileAttr, String)> {
        self.inner.lookup_nocase(dir, name)
    }

    fn name_in(&self, dir: ObjectId, id: ObjectId) -> VfsResult<String> {
        self.inner.name_in(dir, id)
    }

    fn parent(&self, dir: ObjectId) -> VfsResult<ObjectId> {
        self.inner.parent(dir)
    }

    fn is_within(&self, id: ObjectId, dir: ObjectId) -> VfsResult<bool> {
        self.inner.is_within(id, dir)
    }

    fn create(&self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        let a = self.inner.create(dir, name, attr, now)?;
        self.entry(dir, name, action::ADDED, false);
        Ok(a)
    }

    fn mkdir(&self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        let a = self.inner.mkdir(dir, name, attr, now)?;
        self.entry(dir, name, action::ADDED, true);
        Ok(a)
    }

    fn symlink(&self, dir: ObjectId, name: &str, target: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        let a = self.inner.symlink(dir, name, target, attr, now)?;
        self.entry(dir, name, action::ADDED, false);
        Ok(a)
    }

    fn readlink(&self, id: ObjectId) -> VfsResult<String> {
        self.inner.readlink(id)
    }

    fn link(&self, id: ObjectId, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<FileAttr> {
        let a = self.inner.link(id, dir, name, now)?;
        self.entry(dir, name, action::ADDED, false);
        Ok(a)
    }

    fn remove(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.inner.remove(dir, name, now)?;
        self.entry(dir, name, action::REMOVED, false);
        Ok(())
    }

    fn rmdir(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.inner.rmdir(dir, name, now)?;
        self.entry(dir, name, action::REMOVED, true);
        Ok(())
    }

    fn rename(
        &self,
        from_dir: ObjectId,
        from: &str,
        to_dir: ObjectId,
        to: &str,
        replace: bool,
        now: Timespec,
    ) -> VfsResult<()> {
        let replaced = replace && self.inner.lookup(to_dir, to).is_ok();
        self.inner.rename(from_dir, from, to_dir, to, replace, now)?;
        let is_dir = self.is_dir(to_dir, to);
        // MS-FSA 2.1.5.14.11: within one directory, old then new name; across
        // directories, removed from one and added to the other.
        if from_dir == to_dir {
            if replaced {
                self.entry(to_dir, to, action::REMOVED, is_dir);
            }
            self.entry(from_dir, from, action::RENAMED_OLD_NAME, is_dir);
            self.entry(to_dir, to, action::RENAMED_NEW_NAME, is_dir);
        } else {
            self.entry(from_dir, from, action::REMOVED, is_dir);
            if replaced {
                self.entry(to_dir, to, action::MODIFIED, is_dir);
            } else {
                self.entry(to_dir, to, action::ADDED, is_dir);
            }
        }
        Ok(())
    }

    fn read_into(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        self.inner.read_into(id, offset, buf)
    }

    fn read_file(&self, id: ObjectId) -> VfsResult<Option<(std::sync::Arc<std::fs::File>, u64)>> {
        self.inner.read_file(id)
    }

    fn read(&self, id: ObjectId, offset: u64, len: u32) -> VfsResult<(Bytes, bool)> {
        self.inner.read(id, offset, len)
    }

    fn write(&self, id: ObjectId, offset: u64, data: &[u8], now: Timespec) -> VfsResult<FileAttr> {
        let a = self.inner.write(id, offset, data, now)?;
        self.note_write(id);
        Ok(a)
    }

    fn write_spliced(
        &self,
        id: ObjectId,
        offset: u64,
        data: &mut crate::splice::Spliced,
        len: usize,
        now: Timespec,
    ) -> VfsResult<FileAttr> {
        let a = self.inner.write_spliced(id, offset, data, len, now)?;
        self.note_write(id);
        Ok(a)
    }

    fn zero_range(&self, id: ObjectId, offset: u64, len: u64, deallocate: bool, now: Timespec) -> VfsResult<FileAttr> {
        let a = self.inner.zero_range(id, offset, len, deallocate, now)?;
        self.note_write(id);
        Ok(a)
    }

    fn allocated_ranges(&self, id: ObjectId, offset: u64, len: u64, max: usize) -> VfsResult<Vec<(u64, u64)>> {
        self.inner.allocated_ranges(id, offset, len, max)
    }

    fn setattr(&self, id: ObjectId, set: &SetAttr, now: Timespec) -> VfsResult<FileAttr> {
        let a = self.inner.setattr(id, set, now)?;
        let mut f = 0;
        if set.size.is_some() {
            f |= filter::SIZE | filter::LAST_WRITE;
        }
        if set.mode.is_some() || set.uid.is_some() || set.gid.is_some() {
            f |= filter::ATTRIBUTES | filter::SECURITY;
        }
        if set.dos.is_some() {
            f |= filter::ATTRIBUTES;
        }
        if set.mtime.is_some() {
            f |= filter::LAST_WRITE;
        }
        if set.atime.is_some() {
            f |= filter::LAST_ACCESS;
        }
        if set.btime.is_some() {
            f |= filter::CREATION;
        }
        if f != 0 {
            self.note(Change::Object { id, filter: f });
        }
        Ok(a)
    }

    fn readdir(&self, dir: ObjectId, cookie: u64, max: usize) -> VfsResult<(Vec<DirEntry>, bool)> {
        self.inner.readdir(dir, cookie, max)
    }

    fn dir_version(&self, dir: ObjectId) -> VfsResult<u64> {
        self.inner.dir_version(dir)
    }

    fn sync(&self, id: ObjectId) -> VfsResult<()> {
        self.inner.sync(id)
    }

    fn fsstat(&self) -> VfsResult<FsStat> {
        self.inner.fsstat()
    }

    fn stream(&self, file: ObjectId, name: &str, create: bool, now: Timespec) -> VfsResult<FileAttr> {
        let existed = !create || self.inner.list_streams(file).is_ok_and(|s| s.iter().any(|(n, _)| n == name));
        let a = self.inner.stream(file, name, create, now)?;
        if !existed {
            self.note(Change::Object { id: file, filter: filter::STREAM_NAME });
        }
        Ok(a)
    }

    fn list_streams(&self, file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        self.inner.list_streams(file)
    }

    fn remove_stream(&self, file: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.inner.remove_stream(file, name, now)?;
        self.note(Change::Object { id: file, filter: filter::STREAM_NAME });
        Ok(())
    }

    fn rename_stream(&self, file: ObjectId, from: &str, to: &str, now: Timespec) -> VfsResult<()> {
        self.inner.rename_stream(file, from, to, now)?;
        self.note(Change::Object { id: file, filter: filter::STREAM_NAME });
        Ok(())
    }

    fn security(&self, id: ObjectId) -> VfsResult<Option<Vec<u8>>> {
        self.inner.security(id)
    }

    fn set_security(&self, id: ObjectId, sd: Option<&[u8]>, now: Timespec) -> VfsResult<()> {
        self.inner.set_security(id, sd, now)?;
        self.note(Change::Object { id, filter: filter::SECURITY });
        Ok(())
    }

    fn eas(&self, id: ObjectId) -> VfsResult<Vec<(String, Vec<u8>)>> {
        self.inner.eas(id)
    }

    fn set_ea(&self, id: ObjectId, name: &str, value: &[u8], now: Timespec) -> VfsResult<()> {
        self.inner.set_ea(id, name, value, now)?;
        self.note(Change::Object { id, filter: filter::EA });
        Ok(())
    }
}
