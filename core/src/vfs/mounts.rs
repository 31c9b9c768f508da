//! A composite [`Vfs`]: one backend per mount, each seen as a directory of
//! a synthetic, read-only root (`/NAME`), so that each share or export can
//! live on storage of its own (one in memory, one on a disk directory).
//!
//! Object ids are namespaced: the top 16 bits carry the mount's slot plus
//! one, the low 48 bits the backend's own id: its top two bits (a tag, as
//! LocalFs marks stream ids) and its low 46 bits (a larger id from a backend
//! is an I/O error). Slots are never reused, so an id of an
//! unmounted backend stays `Stale` for good, and NFS handles, leases, the
//! change journal and durable opens, all keyed by id, stay apart per mount.
//! A rename or link between two mounts is `CrossDevice` (NFS3ERR_XDEV,
//! STATUS_NOT_SAME_DEVICE). Mounts are added and removed while the server
//! runs (a reload); a handle to the table ([`Mounts`] is a cheap clone)
//! does that from the embedder's side.

use std::sync::{Arc, RwLock};

use super::types::*;
use crate::time::Timespec;

/// Bits of an id that belong to the backend.
const INNER_BITS: u32 = 48;
const INNER_MASK: u64 = (1 << INNER_BITS) - 1;
/// The synthetic root (slot field 0).
const ROOT: ObjectId = 1;
/// Mounts a table can ever hold (the slot field is 16 bits, 0 is the root).
const MAX_SLOTS: usize = (1 << (64 - INNER_BITS)) - 1;

#[derive(Debug)]
struct Mount {
    name: String,
    vfs: Arc<dyn Vfs>,
}

#[derive(Debug, Default)]
struct Table {
    /// Slot `i` holds ids with slot field `i + 1`; `None` once unmounted.
    slots: Vec<Option<Mount>>,
    /// Bumped when the root's listing changes (its `dir_version`).
    version: u64,
}

/// The mount table, itself a [`Vfs`]. Clones share the table.
#[derive(Debug, Clone, Default)]
pub struct Mounts(Arc<RwLock<Table>>);

/// Where an id lives.
enum At {
    Root,
    In(usize, Arc<dyn Vfs>, ObjectId),
}

impl Mounts {
    /// An empty table: the root lists nothing.
    pub fn new() -> Self {
        Self::default()
    }

    fn table(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        // A panic while the lock was held leaves the table as it was: no
        // method changes it in more than one step.
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn table_mut(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Mounts `vfs` as `/NAME`; the path to give shares and exports.
    /// `Exists` if the name is taken, `NoSpace` once every slot was used.
    pub fn mount(&self, name: &str, vfs: Arc<dyn Vfs>) -> VfsResult<String> {
        check_name(name)?;
        let mut t = self.table_mut();
        if t.slots.iter().flatten().any(|m| m.name == name) {
            return Err(VfsError::Exists);
        }
        if t.slots.len() >= MAX_SLOTS {
            return Err(VfsError::NoSpace);
        }
        t.slots.push(Some(Mount { name: name.to_owned(), vfs }));
        t.version += 1;
        Ok(format!("/{name}"))
    }

    /// Removes `/NAME`: its ids are `Stale` from now on. `NotFound` if no
    /// such mount.
    pub fn unmount(&self, name: &str) -> VfsResult<()> {
        let mut t = self.table_mut();
        let slot = t.slots.iter_mut().find(|s| s.as_ref().is_some_and(|m| m.name == name));
        *slot.ok_or(VfsError::NotFound)? = None;
        t.version += 1;
        Ok(())
    }

    /// The names mounted now, in mount order.
    pub fn names(&self) -> Vec<String> {
        self.table().slots.iter().flatten().map(|m| m.name.clone()).collect()
    }

    fn at(&self, id: ObjectId) -> VfsResult<At> {
        if id == ROOT {
            return Ok(At::Root);
        }
        let slot = (id >> INNER_BITS) as usize;
        let t = self.table();
        match slot.checked_sub(1).and_then(|s| t.slots.get(s).map(|m| (s, m))) {
            Some((s, Some(m))) => Ok(At::In(s, m.vfs.clone(), inner(id & INNER_MASK))),
            _ => Err(VfsError::Stale),
        }
    }

    /// The mount `dir` is in, refusing the root: nothing is created,
    /// removed or renamed in it.
    fn in_mount(&self, dir: ObjectId) -> VfsResult<(usize, Arc<dyn Vfs>, ObjectId)> {
        match self.at(dir)? {
            At::Root => Err(VfsError::ReadOnly),
            At::In(s, v, i) => Ok((s, v, i)),
        }
    }

    fn mount_named(&self, name: &str, nocase: bool) -> Option<(usize, String, Arc<dyn Vfs>)> {
        let t = self.table();
        let hit = |m: &Mount| if nocase { fold(&m.name) == fold(name) } else { m.name == name };
        t.slots
            .iter()
            .enumerate()
            .find_map(|(s, m)| m.as_ref().filter(|m| hit(m)).map(|m| (s, m.name.clone(), m.vfs.clone())))
    }

    fn root_attr(&self) -> FileAttr {
        let n = self.table().slots.iter().flatten().count();
        FileAttr {
            id: ROOT,
            generation: 1,
            kind: FileType::Directory,
            mode: 0o555,
            nlink: 2u32.saturating_add(n as u32),
            uid: 0,
            gid: 0,
            size: 0,
            used: 0,
            atime: Timespec::default(),
            mtime: Timespec::default(),
            ctime: Timespec::default(),
            btime: Timespec::default(),
            parent_file: None,
            dos: None,
        }
    }
}

/// Low bits of a backend id kept as they are; the backend's top two bits
/// (a tag: LocalFs marks stream ids with bit 62) move down beside them.
const LOW_BITS: u32 = INNER_BITS - 2;
const LOW_MASK: u64 = (1 << LOW_BITS) - 1;

/// The composite id of backend id `id` in slot `slot`.
fn outer(slot: usize, id: ObjectId) -> VfsResult<ObjectId> {
    let (tag, low) = (id >> 62, id & ((1 << 62) - 1));
    if low > LOW_MASK {
        return Err(VfsError::Io(format!("object id {id:#x} does not fit a mount's 48 bits")));
    }
    Ok(((slot as u64 + 1) << INNER_BITS) | (tag << LOW_BITS) | low)
}

/// The backend id of the low 48 bits of a composite id.
fn inner(bits: u64) -> ObjectId {
    ((bits >> LOW_BITS) << 62) | (bits & LOW_MASK)
}

fn attr(slot: usize, mut a: FileAttr) -> VfsResult<FileAttr> {
    a.id = outer(slot, a.id)?;
    a.parent_file = a.parent_file.map(|p| outer(slot, p)).transpose()?;
    Ok(a)
}

impl Vfs for Mounts {
    fn root(&self) -> ObjectId {
        ROOT
    }

    fn getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        match self.at(id)? {
            At::Root => Ok(self.root_attr()),
            At::In(s, v, i) => attr(s, v.getattr(i)?),
        }
    }

    fn lookup(&self, dir: ObjectId, name: &str) -> VfsResult<FileAttr> {
        match self.at(dir)? {
            At::Root => {
                check_name(name)?;
                let (s, _, v) = self.mount_named(name, false).ok_or(VfsError::NotFound)?;
                attr(s, v.getattr(v.root())?)
            }
            At::In(s, v, i) => attr(s, v.lookup(i, name)?),
        }
    }

    fn lookup_nocase(&self, dir: ObjectId, name: &str) -> VfsResult<(FileAttr, String)> {
        match self.at(dir)? {
            At::Root => {
                check_name(name)?;
                let (s, stored, v) = self.mount_named(name, true).ok_or(VfsError::NotFound)?;
                Ok((attr(s, v.getattr(v.root())?)?, stored))
            }
            At::In(s, v, i) => {
                let (a, stored) = v.lookup_nocase(i, name)?;
                Ok((attr(s, a)?, stored))
            }
        }
    }

    fn name_in(&self, dir: ObjectId, id: ObjectId) -> VfsResult<String> {
        match (self.at(dir)?, self.at(id)?) {
            (At::Root, At::In(s, v, i)) if i == v.root() => {
                self.table().slots[s].as_ref().map(|m| m.name.clone()).ok_or(VfsError::Stale)
            }
            (At::In(ds, v, d), At::In(s, _, i)) if ds == s => v.name_in(d, i),
            _ => Err(VfsError::NotFound),
        }
    }

    fn parent(&self, dir: ObjectId) -> VfsResult<ObjectId> {
        match self.at(dir)? {
            At::Root => Ok(ROOT),
            At::In(_, v, i) if i == v.root() => Ok(ROOT),
            At::In(s, v, i) => outer(s, v.parent(i)?),
        }
    }

    fn is_within(&self, id: ObjectId, dir: ObjectId) -> VfsResult<bool> {
        match (self.at(id)?, self.at(dir)?) {
            (At::Root, _) => Ok(dir == ROOT),
            (At::In(_, v, i), At::Root) => v.getattr(i).map(|_| true),
            (At::In(s, v, i), At::In(ds, _, d)) if s == ds => v.is_within(i, d),
            (At::In(_, v, i), At::In(..)) => v.getattr(i).map(|_| false),
        }
    }

    fn create(&self, dir: ObjectId, name: &str, ca: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        let (s, v, d) = self.in_mount(dir)?;
        attr(s, v.create(d, name, ca, now)?)
    }

    fn mkdir(&self, dir: ObjectId, name: &str, ca: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        let (s, v, d) = self.in_mount(dir)?;
        attr(s, v.mkdir(d, name, ca, now)?)
    }

    fn symlink(&self, dir: ObjectId, name: &str, target: &str, ca: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        let (s, v, d) = self.in_mount(dir)?;
        attr(s, v.symlink(d, name, target, ca, now)?)
    }

    fn readlink(&self, id: ObjectId) -> VfsResult<String> {
        match self.at(id)? {
            At::Root => Err(VfsError::Invalid),
            At::In(_, v, i) => v.readlink(i),
        }
    }

    fn link(&self, id: ObjectId, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<FileAttr> {
        let (ds, v, d) = self.in_mount(dir)?;
        match self.at(id)? {
            At::Root => Err(VfsError::IsDir),
            At::In(s, _, i) if s == ds => attr(s, v.link(i, d, name, now)?),
            At::In(..) => Err(VfsError::CrossDevice),
        }
    }

    fn remove(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        let (_, v, d) = self.in_mount(dir)?;
        v.remove(d, name, now)
    }

    fn rmdir(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        let (_, v, d) = self.in_mount(dir)?;
        v.rmdir(d, name, now)
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
        let (fs, v, f) = self.in_mount(from_dir)?;
        let (ts, _, t) = self.in_mount(to_dir)?;
        if fs != ts {
            return Err(VfsError::CrossDevice);
        }
        v.rename(f, from, t, to, replace, now)
    }

    fn read_into(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        match self.at(id)? {
            At::Root => Err(VfsError::IsDir),
            At::In(_, v, i) => v.read_into(i, offset, buf),
        }
    }

    fn read_file(&self, id: ObjectId) -> VfsResult<Option<(std::sync::Arc<std::fs::File>, u64)>> {
        match self.at(id)? {
            At::Root => Err(VfsError::IsDir),
            At::In(_, v, i) => v.read_file(i),
        }
    }

    fn read(&self, id: ObjectId, offset: u64, len: u32) -> VfsResult<(bytes::Bytes, bool)> {
        match self.at(id)? {
            At::Root => Err(VfsError::IsDir),
            At::In(_, v, i) => v.read(i, offset, len),
        }
    }

    fn write(&self, id: ObjectId, offset: u64, data: &[u8], now: Timespec) -> VfsResult<FileAttr> {
        match self.at(id)? {
            At::Root => Err(VfsError::IsDir),
            At::In(s, v, i) => attr(s, v.write(i, offset, data, now)?),
        }
    }

    fn write_spliced(
        &self,
        id: ObjectId,
        offset: u64,
        data: &mut crate::splice::Spliced,
        len: usize,
        now: Timespec,
    ) -> VfsResult<FileAttr> {
        match self.at(id)? {
            At::Root => Err(VfsError::IsDir),
            At::In(s, v, i) => attr(s, v.write_spliced(i, offset, data, len, now)?),
        }
    }

    fn copy_range(
        &self,
        src: ObjectId,
        src_offset: u64,
        dst: ObjectId,
        dst_offset: u64,
        len: u64,
        now: Timespec,
    ) -> VfsResult<(u64, FileAttr)> {
        match (self.at(src)?, self.at(dst)?) {
            (At::Root, _) | (_, At::Root) => Err(VfsError::IsDir),
            // Within one backend, its own copy (LocalFs: copy_file_range).
            (At::In(s, v, i), At::In(ds, _, d)) if s == ds => {
                let (n, a) = v.copy_range(i, src_offset, d, dst_offset, len, now)?;
                Ok((n, attr(s, a)?))
            }
            _ => copy_by_reading(self, src, src_offset, dst, dst_offset, len, now),
        }
    }

    fn zero_range(&self, id: ObjectId, offset: u64, len: u64, deallocate: bool, now: Timespec) -> VfsResult<FileAttr> {
        match self.at(id)? {
            At::Root => Err(VfsError::IsDir),
            At::In(s, v, i) => attr(s, v.zero_range(i, offset, len, deallocate, now)?),
        }
    }

    fn allocated_ranges(&self, id: ObjectId, offset: u64, len: u64, max: usize) -> VfsResult<Vec<(u64, u64)>> {
        match self.at(id)? {
            At::Root => Err(VfsError::IsDir),
            At::In(_, v, i) => v.allocated_ranges(i, offset, len, max),
        }
    }

    fn setattr(&self, id: ObjectId, set: &SetAttr, now: Timespec) -> VfsResult<FileAttr> {
        match self.at(id)? {
            At::Root => Err(VfsError::ReadOnly),
            At::In(s, v, i) => attr(s, v.setattr(i, set, now)?),
        }
    }

    fn readdir(&self, dir: ObjectId, cookie: u64, max: usize) -> VfsResult<(Vec<DirEntry>, bool)> {
        let (s, v, d) = match self.at(dir)? {
            At::In(s, v, d) => (s, v, d),
            At::Root => {
                // The root's cookies are slot + 1: stable while mounts come
                // and go.
                let mounted: Vec<(usize, String, Arc<dyn Vfs>)> = {
                    let t = self.table();
                    t.slots
                        .iter()
                        .enumerate()
                        .skip(cookie.min(usize::MAX as u64) as usize)
                        .filter_map(|(s, m)| m.as_ref().map(|m| (s, m.name.clone(), m.vfs.clone())))
                        .collect()
                };
                let done = mounted.len() <= max;
                let entries = mounted
                    .into_iter()
                    .take(max)
                    .map(|(s, name, v)| {
                        let id = outer(s, v.root())?;
                        Ok(DirEntry { name, id, kind: FileType::Directory, cookie: s as u64 + 1 })
                    })
                    .collect::<VfsResult<_>>()?;
                return Ok((entries, done));
            }
        };
        let (entries, done) = v.readdir(d, cookie, max)?;
        let entries =
            entries.into_iter().map(|e| Ok(DirEntry { id: outer(s, e.id)?, ..e })).collect::<VfsResult<_>>()?;
        Ok((entries, done))
    }

    fn dir_version(&self, dir: ObjectId) -> VfsResult<u64> {
        match self.at(dir)? {
            At::Root => Ok(self.table().version),
            At::In(_, v, d) => v.dir_version(d),
        }
    }

    fn sync(&self, id: ObjectId) -> VfsResult<()> {
        match self.at(id)? {
            At::Root => Ok(()),
            At::In(_, v, i) => v.sync(i),
        }
    }

    fn fsstat(&self) -> VfsResult<FsStat> {
        let all: Vec<Arc<dyn Vfs>> = self.table().slots.iter().flatten().map(|m| m.vfs.clone()).collect();
        let mut sum = FsStat::default();
        for v in all {
            let st = v.fsstat()?;
            sum.total_bytes = sum.total_bytes.saturating_add(st.total_bytes);
            sum.free_bytes = sum.free_bytes.saturating_add(st.free_bytes);
            sum.avail_bytes = sum.avail_bytes.saturating_add(st.avail_bytes);
            sum.total_files = sum.total_files.saturating_add(st.total_files);
            sum.free_files = sum.free_files.saturating_add(st.free_files);
        }
        Ok(sum)
    }

    fn stream(&self, file: ObjectId, name: &str, create: bool, now: Timespec) -> VfsResult<FileAttr> {
        match self.at(file)? {
            At::Root => Err(VfsError::NotSupported),
            At::In(s, v, i) => attr(s, v.stream(i, name, create, now)?),
        }
    }

    fn list_streams(&self, file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        match self.at(file)? {
            At::Root => Ok(Vec::new()),
            At::In(_, v, i) => v.list_streams(i),
        }
    }

    fn remove_stream(&self, file: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        match self.at(file)? {
            At::Root => Err(VfsError::NotFound),
            At::In(_, v, i) => v.remove_stream(i, name, now),
        }
    }

    fn rename_stream(&self, file: ObjectId, from: &str, to: &str, now: Timespec) -> VfsResult<()> {
        match self.at(file)? {
            At::Root => Err(VfsError::NotFound),
            At::In(_, v, i) => v.rename_stream(i, from, to, now),
        }
    }

    fn security(&self, id: ObjectId) -> VfsResult<Option<Vec<u8>>> {
        match self.at(id)? {
            At::Root => Ok(None),
            At::In(_, v, i) => v.security(i),
        }
    }

    fn set_security(&self, id: ObjectId, sd: Option<&[u8]>, now: Timespec) -> VfsResult<()> {
        match self.at(id)? {
            At::Root => Err(VfsError::ReadOnly),
            At::In(_, v, i) => v.set_security(i, sd, now),
        }
    }

    fn eas(&self, id: ObjectId) -> VfsResult<Vec<(String, Vec<u8>)>> {
        match self.at(id)? {
            At::Root => Ok(Vec::new()),
            At::In(_, v, i) => v.eas(i),
        }
    }

    fn set_ea(&self, id: ObjectId, name: &str, value: &[u8], now: Timespec) -> VfsResult<()> {
        match self.at(id)? {
            At::Root => Err(VfsError::ReadOnly),
            At::In(_, v, i) => v.set_ea(i, name, value, now),
        }
    }
}

#[cfg(test)]
mod tests;
