//! A tiny in-memory Vfs for the NFS tests only: enough semantics (ids,
//! generations, stable per-directory cookies, nlink, times) to drive every
//! procedure. The real backend is `vfs::MemoryFs`.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::time::Timespec;
use crate::vfs::*;

#[derive(Debug)]
struct Node {
    attr: FileAttr,
    data: Vec<u8>,
    target: String,
    parent: ObjectId,
    /// Directories: cookie -> (name, id), and name -> cookie.
    by_cookie: BTreeMap<u64, (String, ObjectId)>,
    by_name: BTreeMap<String, u64>,
    next_cookie: u64,
    version: u64,
}

#[derive(Debug)]
pub struct TinyFs {
    nodes: BTreeMap<ObjectId, Node>,
    next_id: ObjectId,
}

impl Default for TinyFs {
    fn default() -> Self {
        let mut fs = Self { nodes: BTreeMap::new(), next_id: 1 };
        let root = fs.node(FileType::Directory, CreateAttr { mode: 0o777, uid: 0, gid: 0 }, 1, Timespec::new(1, 0));
        fs.nodes.insert(1, root);
        fs.next_id = 2;
        fs
    }
}

impl TinyFs {
    fn node(&self, kind: FileType, a: CreateAttr, parent: ObjectId, now: Timespec) -> Node {
        let id = self.next_id;
        Node {
            attr: FileAttr {
                id,
                generation: 7,
                kind,
                mode: a.mode,
                nlink: if kind == FileType::Directory { 2 } else { 1 },
                uid: a.uid,
                gid: a.gid,
                size: 0,
                used: 0,
                atime: now,
                mtime: now,
                ctime: now,
                btime: now,
                parent_file: None,
            },
            data: Vec::new(),
            target: String::new(),
            parent,
            by_cookie: BTreeMap::new(),
            by_name: BTreeMap::new(),
            next_cookie: 1,
            version: 1,
        }
    }

    fn get(&self, id: ObjectId) -> VfsResult<&Node> {
        self.nodes.get(&id).ok_or(VfsError::Stale)
    }

    fn get_mut(&mut self, id: ObjectId) -> VfsResult<&mut Node> {
        self.nodes.get_mut(&id).ok_or(VfsError::Stale)
    }

    fn dir_mut(&mut self, id: ObjectId) -> VfsResult<&mut Node> {
        let n = self.get_mut(id)?;
        if n.attr.kind != FileType::Directory {
            return Err(VfsError::NotDir);
        }
        Ok(n)
    }

    fn add_entry(&mut self, dir: ObjectId, name: &str, id: ObjectId, now: Timespec) -> VfsResult<()> {
        let d = self.dir_mut(dir)?;
        let c = d.next_cookie;
        d.next_cookie += 1;
        d.by_cookie.insert(c, (name.to_string(), id));
        d.by_name.insert(name.to_string(), c);
        d.version += 1;
        d.attr.mtime = now;
        d.attr.ctime = now;
        d.attr.size += 1;
        Ok(())
    }

    fn del_entry(&mut self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<ObjectId> {
        let d = self.dir_mut(dir)?;
        let c = d.by_name.remove(name).ok_or(VfsError::NotFound)?;
        let (_, id) = d.by_cookie.remove(&c).ok_or(VfsError::NotFound)?;
        d.version += 1;
        d.attr.mtime = now;
        d.attr.ctime = now;
        d.attr.size -= 1;
        Ok(id)
    }

    fn make(&mut self, dir: ObjectId, name: &str, kind: FileType, a: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        check_name(name)?;
        if self.lookup(dir, name).is_ok() {
            return Err(VfsError::Exists);
        }
        let n = self.node(kind, a, dir, now);
        let id = n.attr.id;
        self.add_entry(dir, name, id, now)?;
        self.nodes.insert(id, n);
        self.next_id += 1;
        self.getattr(id)
    }

    fn unlink(&mut self, id: ObjectId) {
        if let Some(n) = self.nodes.get_mut(&id) {
            n.attr.nlink = n.attr.nlink.saturating_sub(1);
            if n.attr.nlink == 0 || n.attr.kind == FileType::Directory {
                self.nodes.remove(&id);
            }
        }
    }
}

impl Vfs for TinyFs {
    fn root(&self) -> ObjectId {
        1
    }
    fn getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        Ok(self.get(id)?.attr.clone())
    }
    fn lookup(&self, dir: ObjectId, name: &str) -> VfsResult<FileAttr> {
        let d = self.get(dir)?;
        if d.attr.kind != FileType::Directory {
            return Err(VfsError::NotDir);
        }
        let c = d.by_name.get(name).ok_or(VfsError::NotFound)?;
        let (_, id) = d.by_cookie.get(c).ok_or(VfsError::NotFound)?;
        self.getattr(*id)
    }
    fn parent(&self, dir: ObjectId) -> VfsResult<ObjectId> {
        Ok(self.get(dir)?.parent)
    }
    fn create(&mut self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.make(dir, name, FileType::Regular, attr, now)
    }
    fn mkdir(&mut self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.make(dir, name, FileType::Directory, attr, now)
    }
    fn symlink(
        &mut self,
        dir: ObjectId,
        name: &str,
        target: &str,
        a: CreateAttr,
        now: Timespec,
    ) -> VfsResult<FileAttr> {
        let attr = self.make(dir, name, FileType::Symlink, a, now)?;
        let n = self.get_mut(attr.id)?;
        n.target = target.to_string();
        n.attr.size = target.len() as u64;
        self.getattr(attr.id)
    }
    fn readlink(&self, id: ObjectId) -> VfsResult<String> {
        Ok(self.get(id)?.target.clone())
    }
    fn link(&mut self, id: ObjectId, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<FileAttr> {
        check_name(name)?;
        if self.get(id)?.attr.kind == FileType::Directory {
            return Err(VfsError::IsDir);
        }
        if self.lookup(dir, name).is_ok() {
            return Err(VfsError::Exists);
        }
        self.add_entry(dir, name, id, now)?;
        let n = self.get_mut(id)?;
        n.attr.nlink += 1;
        n.attr.ctime = now;
        self.getattr(id)
    }
    fn remove(&mut self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        if self.lookup(dir, name)?.kind == FileType::Directory {
            return Err(VfsError::IsDir);
        }
        let id = self.del_entry(dir, name, now)?;
        self.unlink(id);
        Ok(())
    }
    fn rmdir(&mut self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        let a = self.lookup(dir, name)?;
        if a.kind != FileType::Directory {
            return Err(VfsError::NotDir);
        }
        if !self.get(a.id)?.by_name.is_empty() {
            return Err(VfsError::NotEmpty);
        }
        let id = self.del_entry(dir, name, now)?;
        self.unlink(id);
        Ok(())
    }
    fn rename(&mut self, fd: ObjectId, f: &str, td: ObjectId, t: &str, replace: bool, now: Timespec) -> VfsResult<()> {
        check_name(t)?;
        let src = self.lookup(fd, f)?;
        if let Ok(dst) = self.lookup(td, t) {
            if dst.id == src.id {
                return Ok(());
            }
            if !replace {
                return Err(VfsError::Exists);
            }
            if dst.kind == FileType::Directory {
                self.rmdir(td, t, now)?;
            } else {
                self.remove(td, t, now)?;
            }
        }
        let id = self.del_entry(fd, f, now)?;
        self.add_entry(td, t, id, now)?;
        self.get_mut(id)?.parent = td;
        Ok(())
    }
    fn read(&self, id: ObjectId, offset: u64, len: u32) -> VfsResult<(Bytes, bool)> {
        let n = self.get(id)?;
        let start = (offset.min(n.data.len() as u64)) as usize;
        let end = start.saturating_add(len as usize).min(n.data.len());
        Ok((Bytes::copy_from_slice(n.data.get(start..end).unwrap_or_default()), end == n.data.len()))
    }
    fn write(&mut self, id: ObjectId, offset: u64, data: &[u8], now: Timespec) -> VfsResult<FileAttr> {
        let n = self.get_mut(id)?;
        let end = offset as usize + data.len();
        if n.data.len() < end {
            n.data.resize(end, 0);
        }
        n.data[offset as usize..end].copy_from_slice(data);
        n.attr.size = n.data.len() as u64;
        n.attr.used = n.attr.size;
        n.attr.mtime = now;
        n.attr.ctime = now;
        self.getattr(id)
    }
    fn setattr(&mut self, id: ObjectId, s: &SetAttr, now: Timespec) -> VfsResult<FileAttr> {
        let n = self.get_mut(id)?;
        if let Some(m) = s.mode {
            n.attr.mode = m;
        }
        if let Some(u) = s.uid {
            n.attr.uid = u;
        }
        if let Some(g) = s.gid {
            n.attr.gid = g;
        }
        if let Some(sz) = s.size {
            n.data.resize(sz as usize, 0);
            n.attr.size = sz;
            n.attr.mtime = now;
        }
        if let Some(t) = s.atime {
            n.attr.atime = t;
        }
        if let Some(t) = s.mtime {
            n.attr.mtime = t;
        }
        n.attr.ctime = now;
        self.getattr(id)
    }
    fn readdir(&self, dir: ObjectId, cookie: u64, max: usize) -> VfsResult<(Vec<DirEntry>, bool)> {
        let d = self.get(dir)?;
        let mut out = Vec::new();
        let mut it = d.by_cookie.range(cookie + 1..);
        for (c, (name, id)) in it.by_ref().take(max) {
            out.push(DirEntry { name: name.clone(), id: *id, kind: self.get(*id)?.attr.kind, cookie: *c });
        }
        Ok((out, it.next().is_none()))
    }
    fn dir_version(&self, dir: ObjectId) -> VfsResult<u64> {
        Ok(self.get(dir)?.version)
    }
    fn sync(&mut self, id: ObjectId) -> VfsResult<()> {
        self.get(id).map(|_| ())
    }
    fn fsstat(&self) -> VfsResult<FsStat> {
        Ok(FsStat {
            total_bytes: 1 << 30,
            free_bytes: 1 << 29,
            avail_bytes: 1 << 29,
            total_files: 1000,
            free_files: 900,
        })
    }
    fn stream(&mut self, _file: ObjectId, _name: &str, _create: bool, _now: Timespec) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn list_streams(&self, _file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        Ok(Vec::new())
    }
    fn remove_stream(&mut self, _file: ObjectId, _name: &str, _now: Timespec) -> VfsResult<()> {
        Err(VfsError::NotSupported)
    }
}
