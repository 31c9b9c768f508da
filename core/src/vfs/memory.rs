//! `MemoryFs`: the default, in-memory backend used by every simulation test.
//! Deterministic (BTreeMaps, ids from a counter, times only from `now`), with
//! hard links, symlinks, alternate data streams and directory cookies that
//! survive concurrent changes.
//!
//! Ids are never reused, so the generation is the same (1) for every object.
//! Directory cookies are per-directory insertion sequence numbers: an entry
//! gets the next number when it is added (created, linked or renamed in), and
//! `readdir(cookie)` lists the entries with a larger number in order. Removing
//! or adding other entries therefore never skips or repeats an entry.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::types::*;
use crate::time::Timespec;

mod data;

use data::{Data, round_up};

/// Largest file (and stream) size accepted: 1 TiB.
pub const MAX_FILE_SIZE: u64 = 1 << 40;
/// Default capacity reported by `fsstat` and enforced on writes: 1 TiB.
pub const DEFAULT_CAPACITY: u64 = 1 << 40;
/// Object count reported by `fsstat` as `total_files`.
const MAX_FILES: u64 = 1 << 32;
const GENERATION: u64 = 1;
/// Reported size of a directory.
const DIR_SIZE: u64 = 4096;

#[derive(Debug, Clone)]
struct Dir {
    parent: ObjectId,
    /// name -> (sequence, id)
    names: BTreeMap<String, (u64, ObjectId)>,
    /// sequence -> name, the listing order.
    by_seq: BTreeMap<u64, String>,
    /// [`fold`]ed name -> the names with that fold, in listing order (a new
    /// entry always gets the largest sequence, so it goes last): a
    /// case-insensitive lookup is one map lookup, not a scan.
    folded: BTreeMap<String, Vec<String>>,
    next_seq: u64,
    version: u64,
}

impl Dir {
    fn new(parent: ObjectId, version: u64) -> Self {
        Dir { parent, names: BTreeMap::new(), by_seq: BTreeMap::new(), folded: BTreeMap::new(), next_seq: 1, version }
    }
}

#[derive(Debug, Clone)]
enum Body {
    File(Data),
    Dir(Dir),
    Symlink(String),
    Stream { file: ObjectId, data: Data },
}

#[derive(Debug, Clone)]
struct Node {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    btime: Timespec,
    /// Kept DOS attributes ([`FileAttr::dos`]).
    dos: Option<u32>,
    /// The kept security descriptor (self-relative bytes).
    security: Option<Vec<u8>>,
    /// Extended attributes (name as stored, value never empty), in the
    /// order set.
    eas: Vec<(String, Vec<u8>)>,
    /// Alternate data streams: name -> stream id (files and directories).
    streams: BTreeMap<String, ObjectId>,
    /// The directories that list this object, once per name (hard links):
    /// what `is_within` walks up from for a non-directory.
    listed_in: Vec<ObjectId>,
    body: Body,
}

impl Node {
    fn new(attr: CreateAttr, nlink: u32, now: Timespec, body: Body) -> Self {
        Node {
            mode: attr.mode & 0o7777,
            uid: attr.uid,
            gid: attr.gid,
            nlink,
            atime: now,
            mtime: now,
            ctime: now,
            btime: now,
            dos: None,
            security: None,
            eas: Vec::new(),
            streams: BTreeMap::new(),
            listed_in: Vec::new(),
            body,
        }
    }

    fn kind(&self) -> FileType {
        match self.body {
            Body::File(_) => FileType::Regular,
            Body::Dir(_) => FileType::Directory,
            Body::Symlink(_) => FileType::Symlink,
            Body::Stream { .. } => FileType::Stream,
        }
    }

    fn attr(&self, id: ObjectId) -> FileAttr {
        let (size, used, parent_file) = match &self.body {
            Body::File(d) => (d.size(), d.used(), None),
            Body::Dir(_) => (DIR_SIZE, DIR_SIZE, None),
            Body::Symlink(t) => (t.len() as u64, round_up(t.len() as u64), None),
            Body::Stream { file, data } => (data.size(), data.used(), Some(*file)),
        };
        FileAttr {
            id,
            generation: GENERATION,
            kind: self.kind(),
            mode: self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            size,
            used,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
            btime: self.btime,
            parent_file,
            dos: self.dos,
        }
    }

    fn data_mut(&mut self) -> VfsResult<&mut Data> {
        match &mut self.body {
            Body::File(d) | Body::Stream { data: d, .. } => Ok(d),
            Body::Dir(_) => Err(VfsError::IsDir),
            Body::Symlink(_) => Err(VfsError::Invalid),
        }
    }
}

/// The tree behind [`MemoryFs`]'s lock.
#[derive(Debug, Clone)]
struct Tree {
    nodes: BTreeMap<ObjectId, Node>,
    next_id: ObjectId,
    /// Source of directory versions; bumped on every listing change.
    next_version: u64,
    capacity: u64,
    /// Sum of the `used` of all file and stream data.
    used: u64,
}

impl Default for MemoryFs {
    fn default() -> Self {
        Self::new()
    }
}

const ROOT: ObjectId = 1;

impl MemoryFs {
    /// An empty tree (root directory mode 0777, owned by uid/gid 0, times
    /// at the epoch) with [`DEFAULT_CAPACITY`].
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty tree whose writes fail with `NoSpace` beyond `capacity` bytes.
    pub fn with_capacity(capacity: u64) -> Self {
        let root_dir = Dir::new(ROOT, 1);
        let attr = CreateAttr { mode: 0o777, uid: 0, gid: 0 };
        let mut nodes = BTreeMap::new();
        nodes.insert(ROOT, Node::new(attr, 2, Timespec::default(), Body::Dir(root_dir)));
        MemoryFs(Mutex::new(Tree { nodes, next_id: ROOT + 1, next_version: 2, capacity, used: 0 }))
    }
}

impl Tree {
    fn node(&self, id: ObjectId) -> VfsResult<&Node> {
        self.nodes.get(&id).ok_or(VfsError::Stale)
    }

    fn node_mut(&mut self, id: ObjectId) -> VfsResult<&mut Node> {
        self.nodes.get_mut(&id).ok_or(VfsError::Stale)
    }

    fn dir(&self, id: ObjectId) -> VfsResult<&Dir> {
        match &self.node(id)?.body {
            Body::Dir(d) => Ok(d),
            _ => Err(VfsError::NotDir),
        }
    }

    fn dir_mut(&mut self, id: ObjectId) -> VfsResult<&mut Dir> {
        match &mut self.node_mut(id)?.body {
            Body::Dir(d) => Ok(d),
            _ => Err(VfsError::NotDir),
        }
    }

    fn child(&self, dir: ObjectId, name: &str) -> VfsResult<Option<ObjectId>> {
        Ok(self.dir(dir)?.names.get(name).map(|&(_, id)| id))
    }

    fn new_id(&mut self) -> ObjectId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Marks a listing change of `dir` and sets its mtime and ctime.
    fn touch_dir(&mut self, dir: ObjectId, now: Timespec) {
        let version = self.next_version;
        self.next_version += 1;
        if let Some(node) = self.nodes.get_mut(&dir) {
            node.mtime = now;
            node.ctime = now;
            if let Body::Dir(d) = &mut node.body {
                d.version = version;
            }
        }
    }

    /// Adds `name -> id` to `dir` with a fresh cookie.
    fn insert_entry(&mut self, dir: ObjectId, name: &str, id: ObjectId, now: Timespec) -> VfsResult<()> {
        let d = self.dir_mut(dir)?;
        let seq = d.next_seq;
        d.next_seq += 1;
        let replaced = d.names.insert(name.to_owned(), (seq, id));
        if let Some((old, _)) = replaced {
            // Callers remove a name before adding it again; keep the maps
            // consistent even if one does not.
            d.by_seq.remove(&old);
        } else {
            d.folded.entry(fold(name)).or_default().push(name.to_owned());
        }
        d.by_seq.insert(seq, name.to_owned());
        if let Some((_, old_id)) = replaced {
            self.unlist(old_id, dir);
        }
        if let Some(node) = self.nodes.get_mut(&id) {
            node.listed_in.push(dir);
        }
        self.touch_dir(dir, now);
        Ok(())
    }

    /// Removes `name` from `dir`, returning the id it named.
    fn remove_entry(&mut self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<ObjectId> {
        let d = self.dir_mut(dir)?;
        let (seq, id) = d.names.remove(name).ok_or(VfsError::NotFound)?;
        d.by_seq.remove(&seq);
        let key = fold(name);
        if let Some(same) = d.folded.get_mut(&key) {
            same.retain(|n| n != name);
            if same.is_empty() {
                d.folded.remove(&key);
            }
        }
        self.unlist(id, dir);
        self.touch_dir(dir, now);
        Ok(id)
    }

    /// Forgets one name of `id` in `dir`.
    fn unlist(&mut self, id: ObjectId, dir: ObjectId) {
        if let Some(node) = self.nodes.get_mut(&id) {
            if let Some(i) = node.listed_in.iter().position(|d| *d == dir) {
                node.listed_in.swap_remove(i);
            }
        }
    }

    /// Drops one link of non-directory `id`; frees it (and its streams) at zero.
    fn unlink_node(&mut self, id: ObjectId, now: Timespec) {
        let Some(node) = self.nodes.get_mut(&id) else { return };
        node.nlink = node.nlink.saturating_sub(1);
        node.ctime = now;
        if node.nlink == 0 {
            self.free_node(id);
        }
    }

    /// Deletes `id` and its streams, returning their storage.
    fn free_node(&mut self, id: ObjectId) {
        let Some(node) = self.nodes.remove(&id) else { return };
        self.used = self.used.saturating_sub(match &node.body {
            Body::File(d) | Body::Stream { data: d, .. } => d.used(),
            _ => 0,
        });
        for sid in node.streams.values() {
            self.free_node(*sid);
        }
    }

    /// Common part of create/mkdir/symlink: name checks, node insertion.
    fn add_child(&mut self, dir: ObjectId, name: &str, node: Node, now: Timespec) -> VfsResult<FileAttr> {
        check_name(name)?;
        if self.child(dir, name)?.is_some() {
            return Err(VfsError::Exists);
        }
        if self.nodes.len() as u64 >= MAX_FILES {
            return Err(VfsError::NoSpace);
        }
        let is_dir = matches!(node.body, Body::Dir(_));
        let id = self.new_id();
        let attr = node.attr(id);
        self.nodes.insert(id, node);
        self.insert_entry(dir, name, id, now)?;
        if is_dir {
            self.node_mut(dir)?.nlink += 1;
        }
        Ok(attr)
    }

    /// Whether directory `id` is `ancestor` or lies below it.
    fn dir_within(&self, mut id: ObjectId, ancestor: ObjectId) -> bool {
        loop {
            if id == ancestor {
                return true;
            }
            match self.dir(id) {
                Ok(d) if d.parent != id => id = d.parent,
                _ => return false,
            }
        }
    }

    fn check_stream_name(name: &str) -> VfsResult<()> {
        check_name(name)?;
        if name.contains(':') {
            return Err(VfsError::InvalidName);
        }
        Ok(())
    }

    /// The checks of `rename` before anything changes; returns the moved id
    /// and the replaced one, or `None` for a no-op.
    fn plan_rename(
        &self,
        from_dir: ObjectId,
        from: &str,
        to_dir: ObjectId,
        to: &str,
        replace: bool,
    ) -> VfsResult<Option<(ObjectId, Option<ObjectId>)>> {
        check_name(from)?;
        check_name(to)?;
        self.dir(to_dir)?;
        let src = self.child(from_dir, from)?.ok_or(VfsError::NotFound)?;
        if from_dir == to_dir && from == to {
            return Ok(None);
        }
        let src_is_dir = self.node(src)?.kind() == FileType::Directory;
        if src_is_dir && self.dir_within(to_dir, src) {
            return Err(VfsError::Invalid);
        }
        let Some(dst) = self.child(to_dir, to)? else { return Ok(Some((src, None))) };
        if dst == src {
            // Two links to the same file: POSIX says do nothing.
            return Ok(None);
        }
        if !replace {
            return Err(VfsError::Exists);
        }
        match (src_is_dir, self.node(dst)?.kind() == FileType::Directory) {
            (true, true) if !self.dir(dst)?.names.is_empty() => Err(VfsError::NotEmpty),
            (true, false) => Err(VfsError::NotDir),
            (false, true) => Err(VfsError::IsDir),
            _ => Ok(Some((src, Some(dst)))),
        }
    }
}

impl Tree {
    fn root(&self) -> ObjectId {
        ROOT
    }

    fn getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        let node = self.node(id)?;
        let mut a = node.attr(id);
        // A stream shares its file's basic information (times, attributes,
        // owner and mode; MS-FSA 2.1.1.3): only its size is its own.
        if let Body::Stream { file, .. } = node.body {
            let f = self.node(file)?.attr(file);
            (a.mode, a.uid, a.gid, a.dos) = (f.mode, f.uid, f.gid, f.dos);
            (a.atime, a.mtime, a.ctime, a.btime) = (f.atime, f.mtime, f.ctime, f.btime);
        }
        Ok(a)
    }

    fn lookup(&self, dir: ObjectId, name: &str) -> VfsResult<FileAttr> {
        check_name(name)?;
        let id = self.child(dir, name)?.ok_or(VfsError::NotFound)?;
        self.getattr(id)
    }

    /// The exact name if present, else the first name with the same fold
    /// in listing order: what the default scan finds, from the index.
    fn lookup_nocase(&self, dir: ObjectId, name: &str) -> VfsResult<(FileAttr, String)> {
        check_name(name)?;
        let d = self.dir(dir)?;
        let (stored, &(_, id)) = match d.names.get_key_value(name) {
            Some(found) => found,
            None => {
                let stored = d.folded.get(&fold(name)).and_then(|same| same.first()).ok_or(VfsError::NotFound)?;
                d.names.get_key_value(stored.as_str()).ok_or(VfsError::NotFound)?
            }
        };
        Ok((self.getattr(id)?, stored.clone()))
    }

    fn parent(&self, dir: ObjectId) -> VfsResult<ObjectId> {
        Ok(self.dir(dir)?.parent)
    }

    /// Directories walk up their parent links; other objects from each
    /// directory that lists them, a stream from its file.
    fn is_within(&self, id: ObjectId, dir: ObjectId) -> VfsResult<bool> {
        let mut id = id;
        let mut node = self.node(id)?;
        if let Body::Stream { file, .. } = node.body {
            id = file;
            node = self.node(id)?;
        }
        Ok(match node.body {
            Body::Dir(_) => self.dir_within(id, dir),
            _ => id == dir || node.listed_in.iter().any(|d| self.dir_within(*d, dir)),
        })
    }

    fn create(&mut self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.add_child(dir, name, Node::new(attr, 1, now, Body::File(Data::default())), now)
    }

    fn mkdir(&mut self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        let d = Dir::new(dir, 0);
        let attr = self.add_child(dir, name, Node::new(attr, 2, now, Body::Dir(d)), now)?;
        self.touch_dir(attr.id, now);
        Ok(attr)
    }

    fn symlink(
        &mut self,
        dir: ObjectId,
        name: &str,
        target: &str,
        attr: CreateAttr,
        now: Timespec,
    ) -> VfsResult<FileAttr> {
        if target.is_empty() || target.contains('\0') {
            return Err(VfsError::Invalid);
        }
        if target.len() > 4096 {
            return Err(VfsError::NameTooLong);
        }
        let attr = CreateAttr { mode: 0o777, ..attr };
        self.add_child(dir, name, Node::new(attr, 1, now, Body::Symlink(target.to_owned())), now)
    }

    fn readlink(&self, id: ObjectId) -> VfsResult<String> {
        match &self.node(id)?.body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(VfsError::Invalid),
        }
    }

    fn link(&mut self, id: ObjectId, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<FileAttr> {
        check_name(name)?;
        match self.node(id)?.kind() {
            FileType::Directory => return Err(VfsError::IsDir),
            FileType::Stream => return Err(VfsError::Invalid),
            _ => {}
        }
        if self.child(dir, name)?.is_some() {
            return Err(VfsError::Exists);
        }
        let node = self.node_mut(id)?;
        if node.nlink == u32::MAX {
            return Err(VfsError::NoSpace);
        }
        node.nlink += 1;
        node.ctime = now;
        self.insert_entry(dir, name, id, now)?;
        self.getattr(id)
    }

    fn remove(&mut self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        check_name(name)?;
        let id = self.child(dir, name)?.ok_or(VfsError::NotFound)?;
        if self.node(id)?.kind() == FileType::Directory {
            return Err(VfsError::IsDir);
        }
        self.remove_entry(dir, name, now)?;
        self.unlink_node(id, now);
        Ok(())
    }

    fn rmdir(&mut self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        check_name(name)?;
        let id = self.child(dir, name)?.ok_or(VfsError::NotFound)?;
        match &self.node(id)?.body {
            Body::Dir(d) if !d.names.is_empty() => return Err(VfsError::NotEmpty),
            Body::Dir(_) => {}
            _ => return Err(VfsError::NotDir),
        }
        self.remove_entry(dir, name, now)?;
        self.free_node(id);
        let parent = self.node_mut(dir)?;
        parent.nlink = parent.nlink.saturating_sub(1);
        Ok(())
    }

    fn rename(
        &mut self,
        from_dir: ObjectId,
        from: &str,
        to_dir: ObjectId,
        to: &str,
        replace: bool,
        now: Timespec,
    ) -> VfsResult<()> {
        let Some((src, dst)) = self.plan_rename(from_dir, from, to_dir, to, replace)? else { return Ok(()) };
        let src_is_dir = self.node(src)?.kind() == FileType::Directory;
        if let Some(dst) = dst {
            self.remove_entry(to_dir, to, now)?;
            if src_is_dir {
                self.free_node(dst);
                let d = self.node_mut(to_dir)?;
                d.nlink = d.nlink.saturating_sub(1);
            } else {
                self.unlink_node(dst, now);
            }
        }
        self.remove_entry(from_dir, from, now)?;
        self.insert_entry(to_dir, to, src, now)?;
        self.node_mut(src)?.ctime = now;
        if src_is_dir && from_dir != to_dir {
            self.dir_mut(src)?.parent = to_dir;
            let old = self.node_mut(from_dir)?;
            old.nlink = old.nlink.saturating_sub(1);
            self.node_mut(to_dir)?.nlink += 1;
        }
        Ok(())
    }

    fn read_into(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        let len = buf.len().min(MAX_READ as usize);
        match &self.node(id)?.body {
            Body::File(d) | Body::Stream { data: d, .. } => Ok(d.read_into(offset, &mut buf[..len])),
            Body::Dir(_) => Err(VfsError::IsDir),
            Body::Symlink(_) => Err(VfsError::Invalid),
        }
    }

    fn write(&mut self, id: ObjectId, offset: u64, data: &[u8], now: Timespec) -> VfsResult<FileAttr> {
        let end = offset.checked_add(data.len() as u64).ok_or(VfsError::TooBig)?;
        if end > MAX_FILE_SIZE {
            return Err(VfsError::TooBig);
        }
        let (used, capacity) = (self.used, self.capacity);
        let node = self.node_mut(id)?;
        let d = node.data_mut()?;
        let growth = d.growth(offset, data.len() as u64);
        if used.saturating_add(growth) > capacity {
            return Err(VfsError::NoSpace);
        }
        d.write(offset, data);
        if !data.is_empty() {
            node.mtime = now;
            node.ctime = now;
        }
        self.used += growth;
        self.getattr(id)
    }

    fn zero_range(
        &mut self,
        id: ObjectId,
        offset: u64,
        len: u64,
        deallocate: bool,
        now: Timespec,
    ) -> VfsResult<FileAttr> {
        let node = self.node_mut(id)?;
        let d = node.data_mut()?;
        let before = d.used();
        d.zero(offset, len, deallocate);
        let after = d.used();
        if offset < d.size() && len > 0 {
            node.mtime = now;
            node.ctime = now;
        }
        self.used = self.used.saturating_sub(before) + after;
        self.getattr(id)
    }

    fn allocated_ranges(&self, id: ObjectId, offset: u64, len: u64, max: usize) -> VfsResult<Vec<(u64, u64)>> {
        match &self.node(id)?.body {
            Body::File(d) | Body::Stream { data: d, .. } => Ok(d.allocated(offset, len, max)),
            Body::Dir(_) => Err(VfsError::IsDir),
            Body::Symlink(_) => Err(VfsError::Invalid),
        }
    }

    /// Truncates or extends the data of `id` (zeros), moving its mtime.
    fn set_size(&mut self, id: ObjectId, size: u64, now: Timespec) -> VfsResult<()> {
        let node = self.node_mut(id)?;
        let d = node.data_mut()?;
        let before = d.used();
        d.set_size(size);
        let after = d.used();
        node.mtime = now;
        self.used = self.used.saturating_sub(before).saturating_add(after);
        Ok(())
    }

    fn setattr(&mut self, id: ObjectId, set: &SetAttr, now: Timespec) -> VfsResult<FileAttr> {
        if set.size.is_some_and(|s| s > MAX_FILE_SIZE) {
            return Err(VfsError::TooBig);
        }
        // A stream has its own size; everything else is its file's.
        if let Body::Stream { file, .. } = self.node(id)?.body {
            let rest = SetAttr { size: None, ..set.clone() };
            if rest != SetAttr::default() {
                self.setattr(file, &rest, now)?;
            }
            if let Some(size) = set.size {
                self.set_size(id, size, now)?;
            }
            return self.getattr(id);
        }
        if let Some(size) = set.size {
            self.set_size(id, size, now)?;
        }
        let node = self.node_mut(id)?;
        if let Some(mode) = set.mode {
            node.mode = mode & 0o7777;
        }
        if let Some(uid) = set.uid {
            node.uid = uid;
        }
        if let Some(gid) = set.gid {
            node.gid = gid;
        }
        if let Some(t) = set.atime {
            node.atime = t;
        }
        if let Some(t) = set.mtime {
            node.mtime = t;
        }
        if let Some(t) = set.btime {
            node.btime = t;
        }
        if let Some(d) = set.dos {
            node.dos = Some(d & DOS_KEPT);
        }
        node.ctime = set.ctime.unwrap_or(now);
        Ok(node.attr(id))
    }

    fn readdir(&self, dir: ObjectId, cookie: u64, max: usize) -> VfsResult<(Vec<DirEntry>, bool)> {
        let d = self.dir(dir)?;
        let mut out = Vec::new();
        let mut rest = d.by_seq.range(cookie.saturating_add(1)..);
        for (&seq, name) in rest.by_ref().take(max) {
            let Some(&(_, id)) = d.names.get(name) else { continue };
            let kind = self.node(id)?.kind();
            out.push(DirEntry { name: name.clone(), id, kind, cookie: seq });
        }
        Ok((out, rest.next().is_none()))
    }

    fn dir_version(&self, dir: ObjectId) -> VfsResult<u64> {
        Ok(self.dir(dir)?.version)
    }

    fn sync(&mut self, id: ObjectId) -> VfsResult<()> {
        self.node(id).map(|_| ())
    }

    fn fsstat(&self) -> VfsResult<FsStat> {
        let free = self.capacity.saturating_sub(self.used);
        let files = self.nodes.len() as u64;
        Ok(FsStat {
            total_bytes: self.capacity,
            free_bytes: free,
            avail_bytes: free,
            total_files: MAX_FILES,
            free_files: MAX_FILES.saturating_sub(files),
        })
    }

    fn stream(&mut self, file: ObjectId, name: &str, create: bool, now: Timespec) -> VfsResult<FileAttr> {
        Self::check_stream_name(name)?;
        let node = self.node(file)?;
        match node.kind() {
            FileType::Regular | FileType::Directory => {}
            _ => return Err(VfsError::Invalid),
        }
        if let Some(&sid) = node.streams.get(name) {
            return self.getattr(sid);
        }
        if !create {
            return Err(VfsError::NotFound);
        }
        let attr = CreateAttr { mode: node.mode, uid: node.uid, gid: node.gid };
        let sid = self.new_id();
        let stream = Node::new(attr, 1, now, Body::Stream { file, data: Data::default() });
        let fattr = stream.attr(sid);
        self.nodes.insert(sid, stream);
        let node = self.node_mut(file)?;
        node.streams.insert(name.to_owned(), sid);
        node.ctime = now;
        Ok(fattr)
    }

    fn list_streams(&self, file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        let node = self.node(file)?;
        node.streams.iter().map(|(name, &sid)| Ok((name.clone(), self.getattr(sid)?.size))).collect()
    }

    fn remove_stream(&mut self, file: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        Self::check_stream_name(name)?;
        let node = self.node_mut(file)?;
        let sid = node.streams.remove(name).ok_or(VfsError::NotFound)?;
        node.ctime = now;
        self.free_node(sid);
        Ok(())
    }

    fn rename_stream(&mut self, file: ObjectId, from: &str, to: &str, now: Timespec) -> VfsResult<()> {
        Self::check_stream_name(from)?;
        Self::check_stream_name(to)?;
        let node = self.node_mut(file)?;
        let sid = node.streams.remove(from).ok_or(VfsError::NotFound)?;
        let replaced = node.streams.insert(to.to_owned(), sid);
        node.ctime = now;
        if let Some(old) = replaced.filter(|old| *old != sid) {
            self.free_node(old);
        }
        Ok(())
    }
}

/// The in-memory file tree: one lock around the whole tree (a worker's data
/// operation and the core's metadata operations take turns).
#[derive(Debug)]
pub struct MemoryFs(Mutex<Tree>);

impl Clone for MemoryFs {
    fn clone(&self) -> Self {
        MemoryFs(Mutex::new(self.tree().clone()))
    }
}

impl MemoryFs {
    fn tree(&self) -> MutexGuard<'_, Tree> {
        // A panic while holding the lock leaves the tree as it was at that
        // point; serving it on is better than failing every call.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Vfs for MemoryFs {
    fn root(&self) -> ObjectId {
        self.tree().root()
    }

    fn getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        self.tree().getattr(id)
    }

    fn lookup(&self, dir: ObjectId, name: &str) -> VfsResult<FileAttr> {
        self.tree().lookup(dir, name)
    }

    fn lookup_nocase(&self, dir: ObjectId, name: &str) -> VfsResult<(FileAttr, String)> {
        self.tree().lookup_nocase(dir, name)
    }

    fn parent(&self, dir: ObjectId) -> VfsResult<ObjectId> {
        self.tree().parent(dir)
    }

    fn is_within(&self, id: ObjectId, dir: ObjectId) -> VfsResult<bool> {
        self.tree().is_within(id, dir)
    }

    fn create(&self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.tree().create(dir, name, attr, now)
    }

    fn mkdir(&self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.tree().mkdir(dir, name, attr, now)
    }

    fn symlink(&self, dir: ObjectId, name: &str, target: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.tree().symlink(dir, name, target, attr, now)
    }

    fn readlink(&self, id: ObjectId) -> VfsResult<String> {
        self.tree().readlink(id)
    }

    fn link(&self, id: ObjectId, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<FileAttr> {
        self.tree().link(id, dir, name, now)
    }

    fn remove(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.tree().remove(dir, name, now)
    }

    fn rmdir(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.tree().rmdir(dir, name, now)
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
        self.tree().rename(from_dir, from, to_dir, to, replace, now)
    }

    fn read_into(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        self.tree().read_into(id, offset, buf)
    }

    fn write(&self, id: ObjectId, offset: u64, data: &[u8], now: Timespec) -> VfsResult<FileAttr> {
        self.tree().write(id, offset, data, now)
    }

    /// Chunks wholly zeroed are freed with `deallocate` (memory/data.rs).
    fn zero_range(&self, id: ObjectId, offset: u64, len: u64, deallocate: bool, now: Timespec) -> VfsResult<FileAttr> {
        self.tree().zero_range(id, offset, len, deallocate, now)
    }

    /// The stored chunks, in 4 KiB blocks (memory/data.rs).
    fn allocated_ranges(&self, id: ObjectId, offset: u64, len: u64, max: usize) -> VfsResult<Vec<(u64, u64)>> {
        self.tree().allocated_ranges(id, offset, len, max)
    }

    fn setattr(&self, id: ObjectId, set: &SetAttr, now: Timespec) -> VfsResult<FileAttr> {
        self.tree().setattr(id, set, now)
    }

    fn readdir(&self, dir: ObjectId, cookie: u64, max: usize) -> VfsResult<(Vec<DirEntry>, bool)> {
        self.tree().readdir(dir, cookie, max)
    }

    fn dir_version(&self, dir: ObjectId) -> VfsResult<u64> {
        self.tree().dir_version(dir)
    }

    fn sync(&self, id: ObjectId) -> VfsResult<()> {
        self.tree().sync(id)
    }

    fn fsstat(&self) -> VfsResult<FsStat> {
        self.tree().fsstat()
    }

    fn stream(&self, file: ObjectId, name: &str, create: bool, now: Timespec) -> VfsResult<FileAttr> {
        self.tree().stream(file, name, create, now)
    }

    fn list_streams(&self, file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        self.tree().list_streams(file)
    }

    fn remove_stream(&self, file: ObjectId, name: &str, now: Timespec) -> VfsResult<()> {
        self.tree().remove_stream(file, name, now)
    }

    fn rename_stream(&self, file: ObjectId, from: &str, to: &str, now: Timespec) -> VfsResult<()> {
        self.tree().rename_stream(file, from, to, now)
    }

    fn security(&self, id: ObjectId) -> VfsResult<Option<Vec<u8>>> {
        Ok(self.tree().node(id)?.security.clone())
    }

    fn set_security(&self, id: ObjectId, sd: Option<&[u8]>, now: Timespec) -> VfsResult<()> {
        if sd.is_some_and(|b| b.len() > crate::vfs::MAX_SECURITY) {
            return Err(VfsError::NoSpace);
        }
        let mut tree = self.tree();
        let node = tree.node_mut(id)?;
        node.security = sd.map(<[u8]>::to_vec);
        node.ctime = now;
        Ok(())
    }

    fn eas(&self, id: ObjectId) -> VfsResult<Vec<(String, Vec<u8>)>> {
        Ok(self.tree().node(id)?.eas.clone())
    }

    fn set_ea(&self, id: ObjectId, name: &str, value: &[u8], now: Timespec) -> VfsResult<()> {
        crate::vfs::types::check_ea(name, value)?;
        let mut tree = self.tree();
        let node = tree.node_mut(id)?;
        if matches!(node.body, Body::Stream { .. } | Body::Symlink(_)) {
            return Err(VfsError::NotSupported);
        }
        match node.eas.iter().position(|(n, _)| n == name) {
            Some(i) if value.is_empty() => {
                node.eas.remove(i);
            }
            Some(i) => node.eas[i].1 = value.to_vec(),
            None if value.is_empty() => return Ok(()),
            None => node.eas.push((name.to_owned(), value.to_vec())),
        }
        node.ctime = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
