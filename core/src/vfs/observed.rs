//! A `Vfs` wrapper that runs a hook before each data operation (the reads,
//! writes and syncs storage requests make) and each `getattr`, and delegates
//! everything to the wrapped backend: for instrumenting storage (what
//! buffers it is handed, how long it takes, how often attributes are
//! fetched), slowing it down, or failing it on purpose in tests.

use super::types::*;
use crate::time::Timespec;

/// What [`Observed`] runs before each data operation. An error is returned
/// in place of the operation's own result, which then does not run.
pub trait DataHook: Send + Sync + std::fmt::Debug {
    /// Before [`Vfs::read_into`] fills `buf`.
    fn read(&self, _id: ObjectId, _offset: u64, _buf: &[u8]) -> VfsResult<()> {
        Ok(())
    }
    /// Before [`Vfs::write`] stores `data`.
    fn write(&self, _id: ObjectId, _offset: u64, _data: &[u8]) -> VfsResult<()> {
        Ok(())
    }
    /// Before [`Vfs::write_spliced`] stores `len` bytes its pipes hold.
    fn write_spliced(&self, _id: ObjectId, _offset: u64, _len: usize) -> VfsResult<()> {
        Ok(())
    }
    /// Before [`Vfs::sync`].
    fn sync(&self, _id: ObjectId) -> VfsResult<()> {
        Ok(())
    }
    /// Before [`Vfs::getattr`] (the call every request makes to check the
    /// object it names).
    fn getattr(&self, _id: ObjectId) -> VfsResult<()> {
        Ok(())
    }
}

/// `inner` with `hook` run before its data operations.
#[derive(Debug)]
pub struct Observed<H> {
    inner: Box<dyn Vfs>,
    hook: H,
}

impl<H: DataHook> Observed<H> {
    /// Wraps `inner`, running `hook` before each of its data operations.
    pub fn new(inner: Box<dyn Vfs>, hook: H) -> Self {
        Self { inner, hook }
    }
}

impl<H: DataHook> Vfs for Observed<H> {
    fn read_into(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        self.hook.read(id, offset, buf)?;
        self.inner.read_into(id, offset, buf)
    }

    fn write(&self, id: ObjectId, offset: u64, data: &[u8], now: Timespec) -> VfsResult<FileAttr> {
        self.hook.write(id, offset, data)?;
        self.inner.write(id, offset, data, now)
    }

    fn write_spliced(
        &self,
        id: ObjectId,
        offset: u64,
        data: &mut crate::splice::Spliced,
        len: usize,
        now: Timespec,
    ) -> VfsResult<FileAttr> {
        self.hook.write_spliced(id, offset, len)?;
        self.inner.write_spliced(id, offset, data, len, now)
    }

    fn sync(&self, id: ObjectId) -> VfsResult<()> {
        self.hook.sync(id)?;
        self.inner.sync(id)
    }

    fn root(&self) -> ObjectId {
        self.inner.root()
    }

    fn getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        self.hook.getattr(id)?;
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
        self.inner.create(dir, name, attr, now)
    }

    fn mkdir(&self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.inner.mkdir(dir, name, attr, now)
    }

    fn symlink(&self, dir: ObjectId, name: &str, target: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.inner.symlink(dir, name, target, attr, now)
    }

    fn readlink(&self, id: ObjectId) -> VfsResult<String> {
        self.inner.readlink(id)
    }

    fn link(&self, id: ObjectId, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<FileAttr> {
        self.inner.link(id, dir, name, now)
    }

    fn remove(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.inner.remove(dir, name, now)
    }

    fn rmdir(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.inner.rmdir(dir, name, now)
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
        self.inner.rename(from_dir, from, to_dir, to, replace, now)
    }

    fn setattr(&self, id: ObjectId, set: &SetAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.inner.setattr(id, set, now)
    }

    fn readdir(&self, dir: ObjectId, cookie: u64, max: usize) -> VfsResult<(Vec<DirEntry>, bool)> {
        self.inner.readdir(dir, cookie, max)
    }

    fn dir_version(&self, dir: ObjectId) -> VfsResult<u64> {
        self.inner.dir_version(dir)
    }

    fn fsstat(&self) -> VfsResult<FsStat> {
        self.inner.fsstat()
    }

    fn stream(&self, file: ObjectId, name: &str, create: bool, now: Timespec) -> VfsResult<FileAttr> {
        self.inner.stream(file, name, create, now)
    }

    fn list_streams(&self, file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        self.inner.list_streams(file)
    }

    fn remove_stream(&self, file: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.inner.remove_stream(file, name, now)
    }

    fn rename_stream(&self, file: ObjectId, from: &str, to: &str, now: Timespec) -> VfsResult<()> {
        self.inner.rename_stream(file, from, to, now)
    }

    fn security(&self, id: ObjectId) -> VfsResult<Option<Vec<u8>>> {
        self.inner.security(id)
    }

    fn set_security(&self, id: ObjectId, sd: Option<&[u8]>, now: Timespec) -> VfsResult<()> {
        self.inner.set_security(id, sd, now)
    }

    fn eas(&self, id: ObjectId) -> VfsResult<Vec<(String, Vec<u8>)>> {
        self.inner.eas(id)
    }

    fn set_ea(&self, id: ObjectId, name: &str, value: &[u8], now: Timespec) -> VfsResult<()> {
        self.inner.set_ea(id, name, value, now)
    }
}
