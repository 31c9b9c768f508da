use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::vfs::conformance::{Harness, T0, ca};
use crate::vfs::{LocalFs, MemoryFs};

/// The backend under test mounted second in a table (so its ids carry a
/// slot field other than the first), seen from its mount's root: every
/// call goes through the composite's dispatch and id mapping.
#[derive(Debug)]
struct Rooted {
    mounts: Mounts,
    root: ObjectId,
    _dir: Option<TempDir>,
}

#[derive(Debug)]
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Rooted {
    fn new(backend: Arc<dyn Vfs>, dir: Option<TempDir>) -> Self {
        let mounts = Mounts::new();
        let other = MemoryFs::new();
        other.create(other.root(), "elsewhere", ca(0o644), T0).unwrap();
        mounts.mount("first", Arc::new(other)).unwrap();
        mounts.mount("test", backend).unwrap();
        let root = mounts.lookup(mounts.root(), "test").unwrap().id;
        Rooted { mounts, root, _dir: dir }
    }

    fn memory() -> Self {
        Self::new(Arc::new(MemoryFs::new()), None)
    }

    fn local() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("polyshare-mounts-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        Self::new(Arc::new(LocalFs::new(&dir).unwrap()), Some(TempDir(dir)))
    }
}

impl Harness for Rooted {
    fn vfs(&mut self) -> &mut dyn Vfs {
        self
    }
}

/// Everything but `root` (and the parent of that root) goes to the table.
impl Vfs for Rooted {
    fn root(&self) -> ObjectId {
        self.root
    }
    fn getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        self.mounts.getattr(id)
    }
    fn lookup(&self, dir: ObjectId, name: &str) -> VfsResult<FileAttr> {
        self.mounts.lookup(dir, name)
    }
    fn lookup_nocase(&self, dir: ObjectId, name: &str) -> VfsResult<(FileAttr, String)> {
        self.mounts.lookup_nocase(dir, name)
    }
    fn name_in(&self, dir: ObjectId, id: ObjectId) -> VfsResult<String> {
        self.mounts.name_in(dir, id)
    }
    fn parent(&self, dir: ObjectId) -> VfsResult<ObjectId> {
        match dir == self.root {
            true => Ok(self.root),
            false => self.mounts.parent(dir),
        }
    }
    fn is_within(&self, id: ObjectId, dir: ObjectId) -> VfsResult<bool> {
        self.mounts.is_within(id, dir)
    }
    fn create(&self, dir: ObjectId, name: &str, a: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.mounts.create(dir, name, a, now)
    }
    fn mkdir(&self, dir: ObjectId, name: &str, a: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.mounts.mkdir(dir, name, a, now)
    }
    fn symlink(&self, dir: ObjectId, name: &str, target: &str, a: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.mounts.symlink(dir, name, target, a, now)
    }
    fn readlink(&self, id: ObjectId) -> VfsResult<String> {
        self.mounts.readlink(id)
    }
    fn link(&self, id: ObjectId, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<FileAttr> {
        self.mounts.link(id, dir, name, now)
    }
    fn remove(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.mounts.remove(dir, name, now)
    }
    fn rmdir(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.mounts.rmdir(dir, name, now)
    }
    fn rename(&self, fd: ObjectId, f: &str, td: ObjectId, t: &str, replace: bool, now: Timespec) -> VfsResult<()> {
        self.mounts.rename(fd, f, td, t, replace, now)
    }
    fn read_into(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        self.mounts.read_into(id, offset, buf)
    }
    fn write(&self, id: ObjectId, offset: u64, data: &[u8], now: Timespec) -> VfsResult<FileAttr> {
        self.mounts.write(id, offset, data, now)
    }
    fn setattr(&self, id: ObjectId, set: &SetAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.mounts.setattr(id, set, now)
    }
    fn copy_range(
        &self,
        s: ObjectId,
        so: u64,
        d: ObjectId,
        dof: u64,
        len: u64,
        now: Timespec,
    ) -> VfsResult<(u64, FileAttr)> {
        self.mounts.copy_range(s, so, d, dof, len, now)
    }
    fn readdir(&self, dir: ObjectId, cookie: u64, max: usize) -> VfsResult<(Vec<DirEntry>, bool)> {
        self.mounts.readdir(dir, cookie, max)
    }
    fn dir_version(&self, dir: ObjectId) -> VfsResult<u64> {
        self.mounts.dir_version(dir)
    }
    fn sync(&self, id: ObjectId) -> VfsResult<()> {
        self.mounts.sync(id)
    }
    fn fsstat(&self) -> VfsResult<FsStat> {
        self.mounts.fsstat()
    }
    fn stream(&self, file: ObjectId, name: &str, create: bool, now: Timespec) -> VfsResult<FileAttr> {
        self.mounts.stream(file, name, create, now)
    }
    fn list_streams(&self, file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        self.mounts.list_streams(file)
    }
    fn remove_stream(&self, file: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.mounts.remove_stream(file, name, now)
    }
    fn rename_stream(&self, file: ObjectId, from: &str, to: &str, now: Timespec) -> VfsResult<()> {
        self.mounts.rename_stream(file, from, to, now)
    }
    fn security(&self, id: ObjectId) -> VfsResult<Option<Vec<u8>>> {
        self.mounts.security(id)
    }
    fn set_security(&self, id: ObjectId, sd: Option<&[u8]>, now: Timespec) -> VfsResult<()> {
        self.mounts.set_security(id, sd, now)
    }
    fn eas(&self, id: ObjectId) -> VfsResult<Vec<(String, Vec<u8>)>> {
        self.mounts.eas(id)
    }
    fn set_ea(&self, id: ObjectId, name: &str, value: &[u8], now: Timespec) -> VfsResult<()> {
        self.mounts.set_ea(id, name, value, now)
    }
}

mod on_memory {
    use super::*;
    crate::vfs::conformance::conformance_tests!(Rooted::memory());
}

mod on_local {
    use super::*;
    crate::vfs::conformance::conformance_tests!(Rooted::local());
}

fn two() -> (Mounts, ObjectId, ObjectId) {
    let m = Mounts::new();
    assert_eq!(m.mount("mem", Arc::new(MemoryFs::new())), Ok("/mem".into()));
    assert_eq!(m.mount("other", Arc::new(MemoryFs::new())), Ok("/other".into()));
    let a = m.lookup(m.root(), "mem").unwrap().id;
    let b = m.lookup(m.root(), "other").unwrap().id;
    (m, a, b)
}

#[test]
fn the_root_lists_the_mounts_and_refuses_changes() {
    let (m, a, b) = two();
    let root = m.root();
    assert_ne!(a, b, "two backends' roots are two objects");
    let (entries, done) = m.readdir(root, 0, 10).unwrap();
    assert!(done);
    let listed: Vec<(String, ObjectId)> = entries.iter().map(|e| (e.name.clone(), e.id)).collect();
    assert_eq!(listed, [("mem".to_string(), a), ("other".to_string(), b)]);
    let (rest, done) = m.readdir(root, entries[0].cookie, 10).unwrap();
    assert!(done && rest.len() == 1 && rest[0].id == b);
    assert_eq!((m.parent(a), m.parent(root)), (Ok(root), Ok(root)));
    assert_eq!(m.name_in(root, b).as_deref(), Ok("other"));
    assert_eq!(m.lookup_nocase(root, "OTHER").map(|(a, n)| (a.id, n)), Ok((b, "other".into())));
    assert_eq!(m.create(root, "x", ca(0o644), T0), Err(VfsError::ReadOnly));
    assert_eq!(m.mkdir(root, "x", ca(0o755), T0), Err(VfsError::ReadOnly));
    assert_eq!(m.rmdir(root, "mem", T0), Err(VfsError::ReadOnly));
    assert_eq!(m.rename(root, "mem", a, "x", false, T0), Err(VfsError::ReadOnly));
    assert_eq!(m.mount("mem", Arc::new(MemoryFs::new())), Err(VfsError::Exists));
}

#[test]
fn ids_are_namespaced_and_moves_between_mounts_are_cross_device() {
    let (m, a, b) = two();
    let fa = m.create(a, "f", ca(0o644), T0).unwrap();
    let fb = m.create(b, "f", ca(0o644), T0).unwrap();
    // Both backends number their first file alike; the composite does not.
    assert_ne!(fa.id, fb.id);
    m.write(fa.id, 0, b"in a", T0).unwrap();
    assert_eq!(m.getattr(fb.id).unwrap().size, 0);
    assert_eq!(m.is_within(fa.id, b), Ok(false));
    assert_eq!(m.is_within(fa.id, a), Ok(true));
    assert_eq!(m.is_within(fa.id, m.root()), Ok(true));
    assert_eq!(m.rename(a, "f", b, "g", false, T0), Err(VfsError::CrossDevice));
    assert_eq!(m.link(fa.id, b, "g", T0), Err(VfsError::CrossDevice));
    m.rename(a, "f", a, "g", false, T0).unwrap();
    assert_eq!(m.lookup(a, "g").unwrap().id, fa.id);
    let d = m.mkdir(b, "d", ca(0o755), T0).unwrap();
    assert_eq!(m.parent(d.id), Ok(b));
}

#[test]
fn an_unmounted_backend_is_stale_and_its_slot_is_not_reused() {
    let (m, a, _) = two();
    let f = m.create(a, "f", ca(0o644), T0).unwrap().id;
    let v0 = m.dir_version(m.root()).unwrap();
    m.unmount("mem").unwrap();
    assert_ne!(m.dir_version(m.root()).unwrap(), v0);
    assert_eq!(m.getattr(f), Err(VfsError::Stale));
    assert_eq!(m.getattr(a), Err(VfsError::Stale));
    assert_eq!(m.lookup(m.root(), "mem"), Err(VfsError::NotFound));
    assert_eq!(m.unmount("mem"), Err(VfsError::NotFound));
    // The same name again is a new backend with new ids.
    m.mount("mem", Arc::new(MemoryFs::new())).unwrap();
    let a2 = m.lookup(m.root(), "mem").unwrap().id;
    assert_ne!(a2, a);
    let f2 = m.create(a2, "f", ca(0o644), T0).unwrap().id;
    assert_ne!(f2, f);
    assert_eq!(m.getattr(f), Err(VfsError::Stale));
    assert_eq!(m.names(), ["other", "mem"]);
}
