//! `LocalFs`: serves a real directory on disk.
//!
//! Identity: an object's id is its inode number (the root's too), so ids and
//! NFS file handles survive a restart. The backend keeps an in-memory map from
//! id to the paths (relative to the root) it has seen for it, filled by
//! lookup, readdir, create and rename. An id that is not in the map (after a
//! restart, or moved by another process) is searched for breadth-first from
//! the root, visiting at most [`SEARCH_LIMIT`] entries; ids not found are
//! remembered (up to [`MISS_LIMIT`]) so a repeated stale handle costs nothing,
//! and answer `Stale`. The generation is derived from the birth time, so a
//! reused inode number gives a different generation.
//!
//! Confinement: every name goes through [`check_name`]; symlinks are never
//! followed (final components use `lstat`, `O_NOFOLLOW`, `utimensat(...,
//! AT_SYMLINK_NOFOLLOW)`, `lchown`; every intermediate component of a
//! remembered path is checked to be a real directory and the inode number is
//! checked to still be `id`). `readlink` returns a link's text, which the
//! server never resolves. Races with processes changing the tree outside the
//! server are narrowed by these checks, not excluded.
//!
//! Directory cookies: the entries of a directory are listed in inode-number
//! order and the cookie of an entry is its inode number, so a listing resumes
//! after the last returned inode and survives removals and additions. Hard
//! links to one file inside one directory share a cookie and are kept on one
//! page. The first page reads and sorts the whole directory; that listing is
//! kept (for [`LISTING_CACHE_SIZE`] directories, until listed to the end) and
//! later pages are a binary search in it, so paging through n entries costs
//! O(n log n), not O(n²). A kept listing is dropped when the server changes
//! the directory, and is not used once the directory's mtime or ctime
//! differs (a change by another process); a directory that changed less than
//! [`LISTING_SETTLE`] before it was read is not kept at all, because a
//! further change within the same time-stamp tick would go unnoticed. Names
//! that are not UTF-8 or fail [`check_name`] (e.g. contain `\`) are not
//! listed.
//!
//! Case-insensitive lookups: a miss of the exact name is answered from a
//! kept index of the directory's names by [`fold`] (for
//! [`NAME_INDEX_CACHE_SIZE`] directories of at most [`NAME_INDEX_MAX`]
//! names), built from one directory read and updated in place by the
//! server's own changes, so creating n files costs O(n), not O(n²). Like a
//! kept listing it is re-read once the directory's mtime or ctime differs
//! from the ones it was read or last changed at (a change by another
//! process). An outside change in the same time-stamp tick as one the index
//! knows leaves the stamps as they were, so an index read while the
//! directory had not [`LISTING_SETTLE`]d, or changed through here since, is
//! read again once the directory settles or that long after: keeping none
//! (as listings do) would re-read a busy directory on every create.
//!
//! Open files: data operations (`read_into`, `write`, `sync`, truncation)
//! and `getattr` use a cache of [`FD_CACHE_SIZE`] open descriptors by id
//! (least recently used evicted), opened through the checked path once and
//! then used without any path walk. An id names an inode, so a descriptor
//! stays right while that inode has a link: it keeps working when the file
//! or a directory above it is renamed (by anyone). Each use `fstat`s the
//! descriptor; an inode without links (removed, or replaced by a rename over
//! its name or by remove + create, behind the server) is dropped and the id
//! resolved by path again, which gives `Stale` for the old id. A descriptor
//! is checked against a path again after [`FD_REVALIDATE`], so a file moved
//! out of the served tree by another process is served for at most that
//! long. The server's own remove and rename close the descriptor of a
//! file's last name at once; a file removed by another process keeps its
//! space in use until its id is next used or its descriptor is evicted.
//!
//! Times are set by the operating system; `now` is ignored. ctime cannot be
//! set on Linux: one `setattr` asks for is kept aside and reported while the
//! object stays unchanged (`local/change_time.rs`); the creation time and the DOS
//! attributes are kept in Samba's `user.DOSATTRIB` extended attribute (or
//! its sidecar where the file system refuses user xattrs; see
//! `local/dosattrib.rs`), and a creation time found there overrides the birth time
//! the file system reports. Symlinks keep none (Linux allows no user xattrs
//! on them). The owner given at create time is applied best-effort (only
//! root may chown). Alternate data streams live in extended attributes,
//! those too large for one in sidecar files (local/streams.rs), and the EAs
//! SMB clients set in extended attributes too, as `user.NAME`
//! (local/eas.rs).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, DirEntryExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;

use super::types::*;
use crate::time::Timespec;

mod change_time;
mod dosattrib;
mod eas;
mod fileio;
mod ntacl;
mod sidecar;
mod sparse;
mod streams;
mod xattr;

use dosattrib::{DosInfo, Store};
use fileio::{MAX_END, io_err, read_at_most};
use streams::is_stream_id;
pub use streams::{MAX_STREAM, STREAM_ID_BASE};

/// Entries visited at most by one search for an unknown id.
pub const SEARCH_LIMIT: usize = 100_000;
/// Ids remembered as not found; the set is cleared when it reaches this size.
pub const MISS_LIMIT: usize = 4096;

/// Open files kept for data operations.
pub const FD_CACHE_SIZE: usize = 256;
/// How long a cached descriptor is used before its path is checked again.
pub const FD_REVALIDATE: Duration = Duration::from_secs(1);

/// Directories whose listing is kept between pages.
pub const LISTING_CACHE_SIZE: usize = 4;
/// A listing is kept only if the directory had not changed for this long
/// when it was read: time stamps are coarse (a clock tick), and a change in
/// the same tick as the previous one would leave them as they were.
pub const LISTING_SETTLE: Duration = Duration::from_secs(1);

/// Directories whose folded-name index is kept.
pub const NAME_INDEX_CACHE_SIZE: usize = 4;
/// Largest directory (in names) whose folded-name index is kept: bounds the
/// memory of one index (roughly 100 bytes a name).
pub const NAME_INDEX_MAX: usize = 1 << 20;

/// A directory on disk served as a file tree.
#[derive(Debug)]
pub struct LocalFs {
    /// Canonical absolute path of the served directory.
    root: PathBuf,
    root_id: ObjectId,
    /// id -> the relative paths it is known under (the root is "").
    paths: Mutex<BTreeMap<ObjectId, BTreeSet<PathBuf>>>,
    /// Ids a search did not find, or whose last link was removed.
    misses: Mutex<BTreeSet<ObjectId>>,
    /// Open regular files by id, so data operations skip the path walk.
    fds: Mutex<FdCache>,
    /// Cached descriptors older than this are checked against a path again.
    revalidate: Duration,
    /// Path resolutions done (tests show that cached I/O does none).
    walks: AtomicU64,
    /// Sorted listings of directories being paged through.
    listings: Mutex<ListingCache>,
    /// [`LISTING_SETTLE`] (tests shorten it).
    settle: Duration,
    /// Whole-directory reads done (tests show that later pages do none).
    dir_reads: AtomicU64,
    /// Folded-name indexes of directories, for case-insensitive lookups.
    indexes: Mutex<IndexCache>,
    /// Directory reads done to build a folded-name index.
    index_reads: AtomicU64,
    /// DOS attributes live in the sidecar, not in `user.DOSATTRIB`: set
    /// when the file system refuses user xattrs, or forced
    /// ([`LocalFs::with_dos_sidecar`]).
    dos_sidecar: AtomicBool,
    /// Ids of the streams opened so far (local/streams.rs).
    streams: Mutex<streams::StreamIds>,
    /// Serializes the read-modify-write of stream values.
    stream_writes: Mutex<()>,
}

/// A directory's names by [`fold`], so that a case-insensitive lookup is one
/// map lookup instead of a directory read.
#[derive(Debug)]
struct NameIndex {
    /// The directory's mtime and ctime when read or last changed through here.
    stamp: [i64; 4],
    /// Folded name -> (inode, name) of each entry with that fold, in listing
    /// (cookie) order.
    names: BTreeMap<String, Vec<(u64, String)>>,
    /// Names held.
    len: usize,
    /// Since when the index may lack an outside change made in the same
    /// time-stamp tick as one it knows (`None`: read from a settled
    /// directory and not changed since).
    unsure_since: Option<Instant>,
    used: u64,
}

impl NameIndex {
    /// The first name (in listing order) whose fold is `key`.
    fn first(&self, key: &str) -> Option<String> {
        self.names.get(key).and_then(|same| same.first()).map(|(_, n)| n.clone())
    }

    fn insert(&mut self, name: &str, ino: u64) {
        self.remove(name);
        let same = self.names.entry(fold(name)).or_default();
        same.push((ino, name.to_owned()));
        same.sort();
        self.len = self.len.saturating_add(1);
    }

    fn remove(&mut self, name: &str) {
        let key = fold(name);
        if let Some(same) = self.names.get_mut(&key) {
            let before = same.len();
            same.retain(|(_, n)| n != name);
            self.len = self.len.saturating_sub(before.saturating_sub(same.len()));
            if same.is_empty() {
                self.names.remove(&key);
            }
        }
    }
}

#[derive(Debug, Default)]
struct IndexCache {
    map: BTreeMap<ObjectId, NameIndex>,
    tick: u64,
}

/// A directory's whole listing in cookie order, kept while it is paged
/// through so that each later page is a binary search, not a re-read.
#[derive(Debug)]
struct Listing {
    /// The directory's mtime and ctime when it was read.
    stamp: [i64; 4],
    entries: Arc<Vec<DirEntry>>,
    used: u64,
}

#[derive(Debug, Default)]
struct ListingCache {
    map: BTreeMap<ObjectId, Listing>,
    tick: u64,
}

// LocalFs compares with the operating system's own clocks (the time stamps
// it puts on files, the age of a descriptor), not with protocol time, so it
// reads them itself; the rest of the core takes time as an argument.
#[allow(clippy::disallowed_methods)]
fn os_instant() -> Instant {
    Instant::now()
}

#[allow(clippy::disallowed_methods)]
fn os_wall_clock() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

fn dir_stamp(m: &Metadata) -> [i64; 4] {
    [m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()]
}

/// Whether the directory last changed at least `settle` before `now`: only
/// then can a later change not share its time stamp.
fn settled(m: &Metadata, now: std::time::SystemTime, settle: Duration) -> bool {
    let Ok(secs) = u64::try_from(m.ctime()) else { return false };
    let nanos = u32::try_from(m.ctime_nsec()).unwrap_or(0);
    let Some(changed) = std::time::UNIX_EPOCH.checked_add(Duration::new(secs, nanos)) else { return false };
    now.duration_since(changed).is_ok_and(|d| d >= settle)
}

/// One cached open file.
#[derive(Debug)]
struct OpenFile {
    file: Arc<File>,
    writable: bool,
    /// When a path last led to this inode.
    checked: Instant,
    /// Last use, for evicting the least recently used entry.
    used: u64,
}

#[derive(Debug, Default)]
struct FdCache {
    map: BTreeMap<ObjectId, OpenFile>,
    tick: u64,
}

fn nix_err(e: nix::Error) -> VfsError {
    io_err(io::Error::from(e))
}

fn ts(secs: i64, nanos: i64) -> Timespec {
    Timespec::new(secs, u32::try_from(nanos).unwrap_or(0))
}

fn kind_of(ft: fs::FileType) -> FileType {
    if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::Symlink
    } else {
        FileType::Regular
    }
}

fn attr_of(m: &Metadata) -> FileAttr {
    let ctime = ts(m.ctime(), m.ctime_nsec());
    let btime = m.created().map(Timespec::from_system).unwrap_or(ctime);
    let generation = match m.created() {
        Ok(_) => (btime.secs as u64).wrapping_mul(1_000_000_000).wrapping_add(u64::from(btime.nanos)),
        Err(_) => 0,
    };
    FileAttr {
        id: m.ino(),
        generation,
        kind: kind_of(m.file_type()),
        mode: m.mode() & 0o7777,
        nlink: u32::try_from(m.nlink()).unwrap_or(u32::MAX),
        uid: m.uid(),
        gid: m.gid(),
        size: m.size(),
        used: m.blocks().saturating_mul(512),
        atime: ts(m.atime(), m.atime_nsec()),
        mtime: ts(m.mtime(), m.mtime_nsec()),
        ctime,
        btime,
        parent_file: None,
        dos: None,
    }
}

fn lstat(path: &Path) -> VfsResult<Metadata> {
    fs::symlink_metadata(path).map_err(io_err)
}

/// Opens a non-symlink without following a symlink put in its place, and
/// without blocking on a FIFO.
fn open_nofollow(path: &Path, write: bool) -> VfsResult<File> {
    OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(io_err)
}

fn open_write_only(path: &Path) -> VfsResult<File> {
    OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path).map_err(io_err)
}

fn timespec(t: Option<Timespec>) -> TimeSpec {
    match t {
        Some(t) => TimeSpec::new(t.secs as libc::time_t, libc::c_long::from(t.nanos as i32)),
        None => TimeSpec::UTIME_OMIT,
    }
}

impl LocalFs {
    /// Serves the directory `root` (which must exist).
    pub fn new(root: impl Into<PathBuf>) -> Result<LocalFs, VfsError> {
        let root = fs::canonicalize(root.into()).map_err(io_err)?;
        let m = lstat(&root)?;
        if !m.is_dir() {
            return Err(VfsError::NotDir);
        }
        let mut paths = BTreeMap::new();
        paths.insert(m.ino(), BTreeSet::from([PathBuf::new()]));
        Ok(LocalFs {
            root,
            root_id: m.ino(),
            paths: Mutex::new(paths),
            misses: Mutex::default(),
            fds: Mutex::default(),
            revalidate: FD_REVALIDATE,
            walks: AtomicU64::new(0),
            listings: Mutex::default(),
            settle: LISTING_SETTLE,
            dir_reads: AtomicU64::new(0),
            indexes: Mutex::default(),
            index_reads: AtomicU64::new(0),
            dos_sidecar: AtomicBool::new(false),
            streams: Mutex::default(),
            stream_writes: Mutex::new(()),
        })
    }

    /// Keeps DOS attributes and creation times in the sidecar (as when the
    /// file system refuses user xattrs) rather than in `user.DOSATTRIB`.
    pub fn with_dos_sidecar(self) -> Self {
        self.dos_sidecar.store(true, Ordering::Relaxed);
        self
    }

    /// Where the DOSATTRIB value of the object `a` lives.
    fn dos_store(&self, a: &FileAttr) -> Store<'_> {
        match self.dos_sidecar.load(Ordering::Relaxed) {
            true => Store::Sidecar { root: &self.root, ino: a.id, generation: a.generation },
            false => Store::Xattr,
        }
    }

    /// The attributes of `m` (at `path`, or open as `file`) with the DOS
    /// attributes and creation time kept for it.
    fn attr_at(&self, m: &Metadata, path: Option<&Path>, file: Option<&File>) -> FileAttr {
        let mut a = attr_of(m);
        if a.kind == FileType::Symlink {
            return a;
        }
        if let Some(info) = dosattrib::read(self.dos_store(&a), path, file) {
            a.dos = info.attrib.map(|d| d & DOS_KEPT);
            if let Some(t) = info.create_time {
                a.btime = Timespec::from_filetime(t);
            }
        }
        if let Some(t) = change_time::read(path, file, m) {
            a.ctime = Timespec::from_filetime(t);
        }
        a
    }

    /// Keeps the DOS attributes and creation time of `set` for `a` (at
    /// `abs`), and the READONLY bit a mode change implies where a value is
    /// kept already (smbd reads READONLY from it).
    fn keep_dos(&self, abs: &Path, a: &FileAttr, set: &SetAttr) -> VfsResult<()> {
        if a.kind == FileType::Symlink {
            return Ok(());
        }
        let store = self.dos_store(a);
        let old = dosattrib::read(store, Some(abs), None);
        if set.dos.is_none() && set.btime.is_none() && (set.mode.is_none() || old.is_none()) {
            return Ok(());
        }
        let old = old.unwrap_or_default();
        let dos = set.dos.map(|d| d & DOS_KEPT).or(a.dos).or(old.attrib.map(|d| d & DOS_KEPT));
        let attrib = dos.map(|d| {
            let mut full = d;
            if a.kind == FileType::Directory {
                full |= 0x10; // FILE_ATTRIBUTE_DIRECTORY
            } else if a.mode & 0o200 == 0 {
                full |= 0x1; // FILE_ATTRIBUTE_READONLY
            }
            full
        });
        let info = DosInfo { attrib, create_time: set.btime.map(|t| t.to_filetime()).or(old.create_time) };
        match dosattrib::write(store, abs, &info) {
            Err(e) if matches!(store, Store::Xattr) && xattr::unsupported(&e) => {
                // No user xattrs here: the sidecar from now on.
                self.dos_sidecar.store(true, Ordering::Relaxed);
                dosattrib::write(self.dos_store(a), abs, &info).map_err(io_err)
            }
            r => r.map_err(io_err),
        }
    }

    /// The served directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn abs(&self, rel: &Path) -> PathBuf {
        if rel.as_os_str().is_empty() { self.root.clone() } else { self.root.join(rel) }
    }

    fn remember(&self, id: ObjectId, rel: PathBuf) {
        self.misses.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        self.paths.lock().unwrap_or_else(|e| e.into_inner()).entry(id).or_default().insert(rel);
    }

    fn miss(&self, id: ObjectId) {
        let mut misses = self.misses.lock().unwrap_or_else(|e| e.into_inner());
        if misses.len() >= MISS_LIMIT {
            misses.clear();
        }
        misses.insert(id);
    }

    /// Breadth-first search of the tree for `id`, never through symlinks;
    /// remembers the directories it passes and the path found.
    fn search(&self, id: ObjectId) -> bool {
        if id == self.root_id || self.misses.lock().unwrap_or_else(|e| e.into_inner()).contains(&id) {
            return false;
        }
        let mut queue = VecDeque::from([PathBuf::new()]);
        let mut visited = 0usize;
        while let Some(dir) = queue.pop_front() {
            let Ok(listing) = fs::read_dir(self.abs(&dir)) else { continue };
            for e in listing.flatten() {
                visited += 1;
                if visited > SEARCH_LIMIT {
                    self.miss(id);
                    return false;
                }
                let Some(name) = e.file_name().into_string().ok().filter(|n| check_name(n).is_ok()) else {
                    continue;
                };
                let rel = dir.join(name);
                if e.ino() == id {
                    self.remember(id, rel);
                    return true;
                }
                if e.file_type().is_ok_and(|ft| ft.is_dir()) {
                    self.remember(e.ino(), rel.clone());
                    queue.push_back(rel);
                }
            }
        }
        self.miss(id);
        false
    }

    fn forget(&self, id: ObjectId, rel: &Path) {
        let mut paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = paths.get_mut(&id) {
            set.remove(rel);
            if set.is_empty() && id != self.root_id {
                paths.remove(&id);
            }
        }
    }

    /// Every component above `rel` must still be a real directory.
    fn ancestors_are_dirs(&self, rel: &Path) -> bool {
        rel.ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
            .all(|a| fs::symlink_metadata(self.root.join(a)).is_ok_and(|m| m.file_type().is_dir()))
    }

    /// The current relative path and metadata of `id`; `Stale` when no
    /// remembered path leads to it and a search does not find it.
    fn resolve(&self, id: ObjectId) -> VfsResult<(PathBuf, Metadata)> {
        if let Some(found) = self.resolve_known(id)? {
            return Ok(found);
        }
        if self.search(id) {
            if let Some(found) = self.resolve_known(id)? {
                return Ok(found);
            }
        }
        Err(VfsError::Stale)
    }

    /// Tries the remembered paths of `id`, forgetting those that moved on.
    fn resolve_known(&self, id: ObjectId) -> VfsResult<Option<(PathBuf, Metadata)>> {
        self.walks.fetch_add(1, Ordering::Relaxed);
        let candidates: Vec<PathBuf> = self
            .paths
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for rel in candidates {
            if self.ancestors_are_dirs(&rel) {
                match fs::symlink_metadata(self.abs(&rel)) {
                    Ok(m) if m.ino() == id => return Ok(Some((rel, m))),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err(e)),
                }
            }
            if id != self.root_id {
                self.forget(id, &rel);
            }
        }
        Ok(None)
    }

    fn resolve_dir(&self, dir: ObjectId) -> VfsResult<PathBuf> {
        let (rel, m) = self.resolve(dir)?;
        if !m.is_dir() {
            return Err(VfsError::NotDir);
        }
        Ok(rel)
    }

    /// The relative path of `name` in directory `dir`.
    fn child(&self, dir: ObjectId, name: &str) -> VfsResult<PathBuf> {
        Ok(self.child_stamped(dir, name)?.0)
    }

    /// [`LocalFs::child`] and the directory's stamp before a change, which
    /// tells whether its kept name index may be updated in place.
    fn child_stamped(&self, dir: ObjectId, name: &str) -> VfsResult<(PathBuf, [i64; 4])> {
        check_name(name)?;
        let (rel, m) = self.resolve(dir)?;
        if !m.is_dir() {
            return Err(VfsError::NotDir);
        }
        Ok((rel.join(name), dir_stamp(&m)))
    }

    /// Opens regular file `id` for I/O: read-only, or read-write when
    /// `write` (write-only if reading is not permitted; then the second
    /// value is false).
    fn open(&self, id: ObjectId, write: bool) -> VfsResult<(File, bool)> {
        let (rel, m) = self.resolve(id)?;
        if m.is_dir() {
            return Err(VfsError::IsDir);
        }
        if !m.file_type().is_file() {
            return Err(VfsError::Invalid);
        }
        let abs = self.abs(&rel);
        let (f, readable) = match open_nofollow(&abs, write) {
            Err(VfsError::Access) if write => (open_write_only(&abs)?, false),
            r => (r?, true),
        };
        let fm = f.metadata().map_err(io_err)?;
        if fm.ino() != id || !fm.is_file() {
            return Err(VfsError::Stale);
        }
        Ok((f, readable))
    }

    /// A cached descriptor of `id` (writable if `write`), with its current
    /// metadata, without touching any path. A descriptor whose inode lost
    /// its last link (removed or replaced behind the server) is dropped,
    /// never served; one not checked against a path for
    /// [`FD_REVALIDATE`] is not used (the caller reopens by path).
    fn cached_fd(&self, id: ObjectId, write: bool) -> Option<(Arc<File>, Metadata)> {
        let file = {
            let mut c = self.fds.lock().unwrap_or_else(|e| e.into_inner());
            c.tick = c.tick.wrapping_add(1);
            let tick = c.tick;
            let e = c.map.get_mut(&id)?;
            if (write && !e.writable) || os_instant().saturating_duration_since(e.checked) >= self.revalidate {
                return None;
            }
            e.used = tick;
            Arc::clone(&e.file)
        };
        match file.metadata() {
            Ok(m) if m.nlink() > 0 && m.is_file() && m.ino() == id => Some((file, m)),
            _ => {
                self.drop_fd(id);
                None
            }
        }
    }

    /// Regular file `id` open for I/O (writable if `write`) and its
    /// metadata: the cached descriptor, else opened by path and cached.
    fn file(&self, id: ObjectId, write: bool) -> VfsResult<(Arc<File>, Metadata)> {
        if let Some(found) = self.cached_fd(id, write) {
            return Ok(found);
        }
        let (f, readable) = match self.open(id, write) {
            Ok(opened) => opened,
            Err(e) => {
                self.drop_fd(id);
                return Err(e);
            }
        };
        let m = f.metadata().map_err(io_err)?;
        let f = Arc::new(f);
        if readable {
            let mut c = self.fds.lock().unwrap_or_else(|e| e.into_inner());
            if c.map.len() >= FD_CACHE_SIZE && !c.map.contains_key(&id) {
                let oldest = c.map.iter().min_by_key(|(_, e)| e.used).map(|(&k, _)| k);
                if let Some(k) = oldest {
                    c.map.remove(&k);
                }
            }
            c.tick = c.tick.wrapping_add(1);
            let entry = OpenFile { file: Arc::clone(&f), writable: write, checked: os_instant(), used: c.tick };
            c.map.insert(id, entry);
        }
        Ok((f, m))
    }

    /// Closes the cached descriptor of `id` (its last name is gone: an open
    /// descriptor would keep the space of a removed file in use).
    fn drop_fd(&self, id: ObjectId) {
        self.fds.lock().unwrap_or_else(|e| e.into_inner()).map.remove(&id);
    }

    /// Forgets the kept listing of `dir` after a change made through here.
    fn dir_changed(&self, dir: ObjectId) {
        self.listings.lock().unwrap_or_else(|e| e.into_inner()).map.remove(&dir);
    }

    /// The name whose fold is `key` in directory `dir` (at `rel`, with
    /// metadata `m`), from its kept index if that is still valid, else from
    /// a new one.
    fn index_find(&self, dir: ObjectId, rel: &Path, m: &Metadata, key: &str) -> VfsResult<Option<String>> {
        {
            let mut c = self.indexes.lock().unwrap_or_else(|e| e.into_inner());
            c.tick = c.tick.wrapping_add(1);
            let tick = c.tick;
            if let Some(ix) = c.map.get_mut(&dir) {
                let valid = ix.stamp == dir_stamp(m)
                    && ix.unsure_since.is_none_or(|since| {
                        os_instant().saturating_duration_since(since) < self.settle
                            && !settled(m, os_wall_clock(), self.settle)
                    });
                if valid {
                    ix.used = tick;
                    return Ok(ix.first(key));
                }
                c.map.remove(&dir);
            }
        }
        let ix = self.read_index(rel, m)?;
        let found = ix.first(key);
        if ix.len <= NAME_INDEX_MAX {
            self.keep_index(dir, ix);
        }
        Ok(found)
    }

    /// Reads directory `rel` (metadata `m`, taken before the read: a change
    /// during it makes the stamp differ later) into a name index.
    fn read_index(&self, rel: &Path, m: &Metadata) -> VfsResult<NameIndex> {
        self.index_reads.fetch_add(1, Ordering::Relaxed);
        let unsure_since = (!settled(m, os_wall_clock(), self.settle)).then(os_instant);
        let mut names: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
        let mut len = 0usize;
        for e in fs::read_dir(self.abs(rel)).map_err(io_err)? {
            let e = e.map_err(io_err)?;
            let Ok(name) = e.file_name().into_string() else { continue };
            if check_name(&name).is_err() {
                continue;
            }
            names.entry(fold(&name)).or_default().push((e.ino(), name));
            len = len.saturating_add(1);
        }
        for same in names.values_mut().filter(|s| s.len() > 1) {
            same.sort();
        }
        Ok(NameIndex { stamp: dir_stamp(m), names, len, unsure_since, used: 0 })
    }

    fn keep_index(&self, dir: ObjectId, mut ix: NameIndex) {
        let mut c = self.indexes.lock().unwrap_or_else(|e| e.into_inner());
        if c.map.len() >= NAME_INDEX_CACHE_SIZE && !c.map.contains_key(&dir) {
            let oldest = c.map.iter().min_by_key(|(_, ix)| ix.used).map(|(&k, _)| k);
            if let Some(k) = oldest {
                c.map.remove(&k);
            }
        }
        c.tick = c.tick.wrapping_add(1);
        ix.used = c.tick;
        c.map.insert(dir, ix);
    }

    fn drop_index(&self, dir: ObjectId) {
        self.indexes.lock().unwrap_or_else(|e| e.into_inner()).map.remove(&dir);
    }

    /// Applies a change made through here to the kept index of `dir` (at
    /// `rel`), if the index was current before it (`before`: the
    /// directory's stamp then); else drops the index.
    fn index_changed(&self, dir: ObjectId, rel: &Path, before: [i64; 4], change: impl FnOnce(&mut NameIndex)) {
        if !self.indexes.lock().unwrap_or_else(|e| e.into_inner()).map.contains_key(&dir) {
            return;
        }
        let after = lstat(&self.abs(rel)).ok().filter(|m| m.is_dir()).map(|m| dir_stamp(&m));
        let mut c = self.indexes.lock().unwrap_or_else(|e| e.into_inner());
        let Some(ix) = c.map.get_mut(&dir) else { return };
        match after {
            Some(after) if ix.stamp == before => {
                change(ix);
                ix.stamp = after;
                // An outside change in the tick of this one would not show.
                ix.unsure_since.get_or_insert_with(os_instant);
                if ix.len > NAME_INDEX_MAX {
                    c.map.remove(&dir);
                }
            }
            _ => {
                c.map.remove(&dir);
            }
        }
    }

    /// The kept listing of `dir` if the directory is unchanged since.
    fn kept_listing(&self, dir: ObjectId, m: &Metadata) -> Option<Arc<Vec<DirEntry>>> {
        let mut c = self.listings.lock().unwrap_or_else(|e| e.into_inner());
        c.tick = c.tick.wrapping_add(1);
        let tick = c.tick;
        let l = c.map.get_mut(&dir)?;
        if l.stamp != dir_stamp(m) {
            c.map.remove(&dir);
            return None;
        }
        l.used = tick;
        Some(Arc::clone(&l.entries))
    }

    fn keep_listing(&self, dir: ObjectId, m: &Metadata, entries: Arc<Vec<DirEntry>>) {
        let mut c = self.listings.lock().unwrap_or_else(|e| e.into_inner());
        if c.map.len() >= LISTING_CACHE_SIZE && !c.map.contains_key(&dir) {
            let oldest = c.map.iter().min_by_key(|(_, l)| l.used).map(|(&k, _)| k);
            if let Some(k) = oldest {
                c.map.remove(&k);
            }
        }
        c.tick = c.tick.wrapping_add(1);
        let used = c.tick;
        c.map.insert(dir, Listing { stamp: dir_stamp(m), entries, used });
    }

    /// Every listable entry of directory `rel`, in cookie (inode) order.
    fn list(&self, rel: &Path) -> VfsResult<Vec<DirEntry>> {
        self.dir_reads.fetch_add(1, Ordering::Relaxed);
        let mut all: Vec<DirEntry> = Vec::new();
        for e in fs::read_dir(self.abs(rel)).map_err(io_err)? {
            let e = e.map_err(io_err)?;
            let Ok(name) = e.file_name().into_string() else { continue };
            if check_name(&name).is_err() {
                continue;
            }
            let kind = match e.file_type() {
                Ok(ft) => kind_of(ft),
                Err(_) => continue, // removed meanwhile
            };
            all.push(DirEntry { id: e.ino(), kind, cookie: e.ino(), name });
        }
        all.sort_by(|a, b| (a.cookie, &a.name).cmp(&(b.cookie, &b.name)));
        Ok(all)
    }

    /// Applies the creator's owner; only root may, so failures are ignored.
    fn chown_best_effort(&self, abs: &Path, m: &Metadata, attr: CreateAttr) {
        if m.uid() != attr.uid || m.gid() != attr.gid {
            let _ = std::os::unix::fs::lchown(abs, Some(attr.uid), Some(attr.gid));
        }
    }

    /// After a rename of `from` to `to`: `id` and everything remembered
    /// below `from` now live below `to`.
    fn moved(&self, id: ObjectId, from: &Path, to: &Path) {
        let mut paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        for set in paths.values_mut() {
            let below: Vec<PathBuf> = set.iter().filter(|p| p.starts_with(from) && *p != from).cloned().collect();
            for p in below {
                set.remove(&p);
                if let Ok(rest) = p.strip_prefix(from) {
                    set.insert(to.join(rest));
                }
            }
        }
        if let Some(set) = paths.get_mut(&id) {
            set.remove(from);
        }
        paths.entry(id).or_default().insert(to.to_path_buf());
    }

    /// After a create of `rel` in `dir` (whose stamp was `before`).
    fn finish_create(&self, dir: ObjectId, rel: PathBuf, before: [i64; 4], attr: CreateAttr) -> VfsResult<FileAttr> {
        let abs = self.abs(&rel);
        let m = lstat(&abs)?;
        self.chown_best_effort(&abs, &m, attr);
        let m = lstat(&abs)?;
        self.added(dir, &rel, before, m.ino());
        self.remember(m.ino(), rel);
        Ok(attr_of(&m))
    }

    /// Adds the new name `rel` (inode `ino`) to the kept index of `dir`.
    fn added(&self, dir: ObjectId, rel: &Path, before: [i64; 4], ino: u64) {
        if let (Some(up), Some(name)) = (rel.parent(), rel.file_name().and_then(|n| n.to_str())) {
            self.index_changed(dir, up, before, |ix| ix.insert(name, ino));
        }
    }

    /// Takes the removed name `rel` out of the kept index of `dir`.
    fn removed(&self, dir: ObjectId, rel: &Path, before: [i64; 4]) {
        if let (Some(up), Some(name)) = (rel.parent(), rel.file_name().and_then(|n| n.to_str())) {
            self.index_changed(dir, up, before, |ix| ix.remove(name));
        }
    }
}

/// Alternate data streams (local/streams.rs: in attributes, large ones in
/// the sidecar).
impl LocalFs {
    /// The streams of `file` (a regular file or a directory) and its
    /// metadata.
    fn stream_base(&self, file: ObjectId) -> VfsResult<(streams::Streams, Metadata)> {
        let (rel, m) = self.resolve(file)?;
        if !(m.is_file() || m.is_dir()) {
            return Err(VfsError::Invalid);
        }
        let sidecar_only = self.dos_sidecar.load(Ordering::Relaxed);
        Ok((streams::Streams::new(&self.root, self.abs(&rel), m.ino(), attr_of(&m).generation, sidecar_only), m))
    }

    fn stream_ids(&self) -> std::sync::MutexGuard<'_, streams::StreamIds> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The file, its streams and metadata and the stored name of stream
    /// `id`.
    fn stream_of(&self, id: ObjectId) -> VfsResult<(ObjectId, streams::Streams, Metadata, String)> {
        let (file, name) = self.stream_ids().get(id).ok_or(VfsError::Stale)?;
        let (st, m) = self.stream_base(file)?;
        Ok((file, st, m, name))
    }

    /// Stream `id`'s attributes: its file's (`m`) with its own size.
    fn stream_attr(&self, id: ObjectId, file: ObjectId, st: &streams::Streams, size: u64) -> VfsResult<FileAttr> {
        let m = lstat(st.path())?;
        Ok(streams::attr(self.attr_at(&m, Some(st.path()), None), id, file, size))
    }

    /// A stream shares its file's basic information, DOS attributes and
    /// creation time included (MS-FSA 2.1.1.3): only the size is its own.
    fn stream_getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        let (file, st, m, name) = self.stream_of(id)?;
        let size = st.get(&name)?.size();
        Ok(streams::attr(self.attr_at(&m, Some(st.path()), None), id, file, size))
    }

    fn stream_file(&self, id: ObjectId) -> VfsResult<ObjectId> {
        self.stream_ids().get(id).map(|(f, _)| f).ok_or(VfsError::Stale)
    }

    fn stream_read(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        let (_, st, _, name) = self.stream_of(id)?;
        st.read(&name, offset, buf)
    }

    /// Stream changes are serialized: an attribute stream's is a
    /// read-modify-write of its value, and a move to the sidecar must not
    /// race another change.
    fn stream_writes(&self) -> std::sync::MutexGuard<'_, ()> {
        self.stream_writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stream_write(&self, id: ObjectId, offset: u64, bytes: &[u8]) -> VfsResult<FileAttr> {
        let _one = self.stream_writes();
        let (file, st, _, name) = self.stream_of(id)?;
        let size = st.write(&name, offset, bytes)?;
        self.stream_attr(id, file, &st, size)
    }

    fn stream_truncate(&self, id: ObjectId, size: u64) -> VfsResult<FileAttr> {
        let _one = self.stream_writes();
        let (file, st, _, name) = self.stream_of(id)?;
        st.truncate(&name, size)?;
        self.stream_attr(id, file, &st, size)
    }

    fn stream_open(&self, file: ObjectId, name: &str, create: bool) -> VfsResult<FileAttr> {
        streams::check_stream_name(name)?;
        let (st, m) = self.stream_base(file)?;
        let stored = match st.stored_name(name)? {
            Some(s) => s,
            None if create => {
                let _one = self.stream_writes();
                st.create(name)?;
                name.to_owned()
            }
            None => return Err(VfsError::NotFound),
        };
        let id = self.stream_ids().id_for(file, &stored);
        let size = st.get(&stored)?.size();
        Ok(streams::attr(self.attr_at(&m, Some(st.path()), None), id, m.ino(), size))
    }

    fn stream_remove(&self, file: ObjectId, name: &str) -> VfsResult<()> {
        streams::check_stream_name(name)?;
        let _one = self.stream_writes();
        let (st, _) = self.stream_base(file)?;
        let stored = st.stored_name(name)?.ok_or(VfsError::NotFound)?;
        st.remove(&stored)?;
        self.stream_ids().forget(file, &stored);
        Ok(())
    }

    /// Stream `from` of `file` becomes `to` where it is kept
    /// (streams::Streams::rename), and its id follows it. A stream `to`
    /// (found ignoring case) is replaced.
    fn stream_rename(&self, file: ObjectId, from: &str, to: &str) -> VfsResult<()> {
        streams::check_stream_name(from)?;
        streams::check_stream_name(to)?;
        let _one = self.stream_writes();
        let (st, _) = self.stream_base(file)?;
        let old = st.stored_name(from)?.ok_or(VfsError::NotFound)?;
        if let Some(target) = st.stored_name(to)?.filter(|t| *t != old) {
            self.stream_ids().forget(file, &target);
        }
        st.rename(&old, to)?;
        self.stream_ids().rename(file, &old, to);
        Ok(())
    }

    /// Forgets what the sidecar keeps for inode `ino`, whose last name is
    /// gone: its large streams always, its other values in the sidecar
    /// mode.
    fn forget_sidecar(&self, ino: u64) {
        // Best effort: what is left is keyed by a generation no new file
        // of this inode number has.
        let _ = streams::forget(&self.root, ino);
        if self.dos_sidecar.load(Ordering::Relaxed) {
            sidecar::forget(&self.root, ino);
        }
    }
}

impl Vfs for LocalFs {
    fn root(&self) -> ObjectId {
        self.root_id
    }

    fn getattr(&self, id: ObjectId) -> VfsResult<FileAttr> {
        if is_stream_id(id) {
            return self.stream_getattr(id);
        }
        if let Some((f, m)) = self.cached_fd(id, false) {
            return Ok(self.attr_at(&m, None, Some(&f)));
        }
        let (rel, m) = self.resolve(id)?;
        Ok(self.attr_at(&m, Some(&self.abs(&rel)), None))
    }

    fn lookup(&self, dir: ObjectId, name: &str) -> VfsResult<FileAttr> {
        let rel = self.child(dir, name)?;
        let abs = self.abs(&rel);
        let m = lstat(&abs)?;
        self.remember(m.ino(), rel);
        Ok(self.attr_at(&m, Some(&abs), None))
    }

    /// On a miss, from the directory's folded-name index.
    fn lookup_nocase(&self, dir: ObjectId, name: &str) -> VfsResult<(FileAttr, String)> {
        match self.lookup(dir, name) {
            Ok(a) => return Ok((a, name.to_string())),
            Err(VfsError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let key = fold(name);
        // A name the index holds may have gone behind the server within
        // one time-stamp tick: then read the directory again, once.
        for _ in 0..2 {
            let (rel, m) = self.resolve(dir)?;
            if !m.is_dir() {
                return Err(VfsError::NotDir);
            }
            let Some(found) = self.index_find(dir, &rel, &m, &key)? else { return Err(VfsError::NotFound) };
            match self.lookup(dir, &found) {
                Ok(a) => return Ok((a, found)),
                Err(VfsError::NotFound) => self.drop_index(dir),
                Err(e) => return Err(e),
            }
        }
        Err(VfsError::NotFound)
    }

    /// From the checked path of `id` when it lies in `dir` (the usual case:
    /// a directory's name in its parent), else by listing `dir`.
    fn name_in(&self, dir: ObjectId, id: ObjectId) -> VfsResult<String> {
        let dir_rel = self.resolve_dir(dir)?;
        if id != self.root_id {
            if let Ok((rel, _)) = self.resolve(id) {
                if let (Some(up), Some(name)) = (rel.parent(), rel.file_name().and_then(|n| n.to_str())) {
                    if up == dir_rel {
                        return Ok(name.to_string());
                    }
                }
            }
        }
        scan_name_in(self, dir, id)
    }

    fn parent(&self, dir: ObjectId) -> VfsResult<ObjectId> {
        let rel = self.resolve_dir(dir)?;
        let Some(up) = rel.parent().filter(|p| !p.as_os_str().is_empty()) else { return Ok(self.root_id) };
        let m = lstat(&self.abs(up))?;
        self.remember(m.ino(), up.to_path_buf());
        Ok(m.ino())
    }

    /// By path: a checked path of `id` (every component above it a real
    /// directory, its inode still `id`) that starts with the path of `dir`.
    /// Only the paths the backend knows for `id` are tried, so a hard link
    /// below `dir` that was never looked up (after a restart, a search found
    /// another name first) does not count until it is.
    fn is_within(&self, id: ObjectId, dir: ObjectId) -> VfsResult<bool> {
        if is_stream_id(id) {
            return self.is_within(self.stream_file(id)?, dir);
        }
        if id == dir {
            return self.getattr(id).map(|_| true);
        }
        let (first, _) = self.resolve(id)?;
        if dir == self.root_id {
            return Ok(true);
        }
        let Ok(dir_rel) = self.resolve_dir(dir) else { return Ok(false) };
        if first.starts_with(&dir_rel) {
            return Ok(true);
        }
        let known: Vec<PathBuf> = self
            .paths
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(|s| s.iter().filter(|p| p.starts_with(&dir_rel)).cloned().collect())
            .unwrap_or_default();
        Ok(known.iter().any(|rel| {
            self.ancestors_are_dirs(rel) && fs::symlink_metadata(self.abs(rel)).is_ok_and(|m| m.ino() == id)
        }))
    }

    fn create(&self, dir: ObjectId, name: &str, attr: CreateAttr, _now: Timespec) -> VfsResult<FileAttr> {
        let (rel, before) = self.child_stamped(dir, name)?;
        let mode = attr.mode & 0o7777;
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.abs(&rel))
            .map_err(io_err)?;
        self.dir_changed(dir);
        // The umask narrowed the mode; set exactly what was asked.
        f.set_permissions(Permissions::from_mode(mode)).map_err(io_err)?;
        self.finish_create(dir, rel, before, attr)
    }

    fn mkdir(&self, dir: ObjectId, name: &str, attr: CreateAttr, _now: Timespec) -> VfsResult<FileAttr> {
        let (rel, before) = self.child_stamped(dir, name)?;
        let abs = self.abs(&rel);
        let mode = attr.mode & 0o7777;
        fs::DirBuilder::new().mode(mode).create(&abs).map_err(io_err)?;
        self.dir_changed(dir);
        // The umask narrowed the mode. A directory without read permission
        // cannot be opened to fchmod it, so chmod the path after checking
        // that it is still the directory just made, not a symlink.
        if !lstat(&abs)?.is_dir() {
            return Err(VfsError::Stale);
        }
        fs::set_permissions(&abs, Permissions::from_mode(mode)).map_err(io_err)?;
        self.finish_create(dir, rel, before, attr)
    }

    fn symlink(
        &self,
        dir: ObjectId,
        name: &str,
        target: &str,
        attr: CreateAttr,
        _now: Timespec,
    ) -> VfsResult<FileAttr> {
        if target.is_empty() || target.contains('\0') {
            return Err(VfsError::Invalid);
        }
        let (rel, before) = self.child_stamped(dir, name)?;
        std::os::unix::fs::symlink(target, self.abs(&rel)).map_err(io_err)?;
        self.dir_changed(dir);
        self.finish_create(dir, rel, before, attr)
    }

    fn readlink(&self, id: ObjectId) -> VfsResult<String> {
        let (rel, m) = self.resolve(id)?;
        if !m.file_type().is_symlink() {
            return Err(VfsError::Invalid);
        }
        let target = fs::read_link(self.abs(&rel)).map_err(io_err)?;
        Ok(target.to_string_lossy().into_owned())
    }

    fn link(&self, id: ObjectId, dir: ObjectId, name: &str, _now: Timespec) -> VfsResult<FileAttr> {
        let (src, m) = self.resolve(id)?;
        if m.is_dir() {
            return Err(VfsError::IsDir);
        }
        let (rel, before) = self.child_stamped(dir, name)?;
        // linkat(2) without AT_SYMLINK_FOLLOW: a symlink is linked, not followed.
        fs::hard_link(self.abs(&src), self.abs(&rel)).map_err(io_err)?;
        self.dir_changed(dir);
        let abs = self.abs(&rel);
        let m = lstat(&abs)?;
        self.added(dir, &rel, before, m.ino());
        self.remember(m.ino(), rel);
        Ok(self.attr_at(&m, Some(&abs), None))
    }

    fn remove(&self, dir: ObjectId, name: &str, _now: Timespec) -> VfsResult<()> {
        let (rel, before) = self.child_stamped(dir, name)?;
        let abs = self.abs(&rel);
        let m = lstat(&abs)?;
        if m.is_dir() {
            return Err(VfsError::IsDir);
        }
        fs::remove_file(&abs).map_err(io_err)?;
        self.dir_changed(dir);
        self.removed(dir, &rel, before);
        self.forget(m.ino(), &rel);
        if m.nlink() <= 1 {
            self.drop_fd(m.ino());
            self.miss(m.ino());
            self.forget_sidecar(m.ino());
        }
        Ok(())
    }

    fn rmdir(&self, dir: ObjectId, name: &str, _now: Timespec) -> VfsResult<()> {
        let (rel, before) = self.child_stamped(dir, name)?;
        let abs = self.abs(&rel);
        let m = lstat(&abs)?;
        if !m.is_dir() {
            return Err(VfsError::NotDir);
        }
        fs::remove_dir(&abs).map_err(io_err)?;
        self.dir_changed(dir);
        self.dir_changed(m.ino());
        self.removed(dir, &rel, before);
        self.drop_index(m.ino());
        self.forget(m.ino(), &rel);
        self.miss(m.ino());
        self.forget_sidecar(m.ino());
        Ok(())
    }

    fn rename(
        &self,
        from_dir: ObjectId,
        from: &str,
        to_dir: ObjectId,
        to: &str,
        replace: bool,
        _now: Timespec,
    ) -> VfsResult<()> {
        let (from_rel, from_before) = self.child_stamped(from_dir, from)?;
        let (to_rel, to_before) = self.child_stamped(to_dir, to)?;
        let (from_abs, to_abs) = (self.abs(&from_rel), self.abs(&to_rel));
        let sm = lstat(&from_abs)?;
        if from_rel == to_rel {
            return Ok(());
        }
        if sm.is_dir() && to_rel.starts_with(&from_rel) {
            return Err(VfsError::Invalid);
        }
        let replaced = match fs::symlink_metadata(&to_abs) {
            Ok(tm) => {
                if tm.ino() == sm.ino() && tm.dev() == sm.dev() {
                    // Two links to the same file: POSIX says do nothing.
                    return Ok(());
                }
                if !replace {
                    return Err(VfsError::Exists);
                }
                match (sm.is_dir(), tm.is_dir()) {
                    (true, false) => return Err(VfsError::NotDir),
                    (false, true) => return Err(VfsError::IsDir),
                    (true, true) if fs::read_dir(&to_abs).map_err(io_err)?.next().is_some() => {
                        return Err(VfsError::NotEmpty);
                    }
                    _ => Some((tm.ino(), tm.nlink())),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(e)),
        };
        fs::rename(&from_abs, &to_abs).map_err(io_err)?;
        self.dir_changed(from_dir);
        self.dir_changed(to_dir);
        if from_dir == to_dir {
            // One change of one directory: its stamp moved once.
            if let Some(up) = to_rel.parent() {
                self.index_changed(to_dir, up, to_before, |ix| {
                    ix.remove(from);
                    ix.insert(to, sm.ino());
                });
            }
        } else {
            self.removed(from_dir, &from_rel, from_before);
            self.added(to_dir, &to_rel, to_before, sm.ino());
        }
        if let Some((old, links)) = replaced {
            self.forget(old, &to_rel);
            if links <= 1 {
                self.drop_fd(old);
                self.dir_changed(old);
                self.drop_index(old);
                self.miss(old);
                self.forget_sidecar(old);
            }
        }
        self.moved(sm.ino(), &from_rel, &to_rel);
        Ok(())
    }

    fn read_into(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)> {
        if is_stream_id(id) {
            return self.stream_read(id, offset, buf);
        }
        let (f, m) = self.file(id, false)?;
        read_at_most(&f, m.len(), offset, buf)
    }

    fn read_file(&self, id: ObjectId) -> VfsResult<Option<(Arc<File>, u64)>> {
        if is_stream_id(id) {
            return Ok(None);
        }
        let (f, m) = self.file(id, false)?;
        Ok(Some((f, m.len())))
    }

    fn write(&self, id: ObjectId, offset: u64, data: &[u8], _now: Timespec) -> VfsResult<FileAttr> {
        if is_stream_id(id) {
            return self.stream_write(id, offset, data);
        }
        let end = offset.checked_add(data.len() as u64).ok_or(VfsError::TooBig)?;
        if end > MAX_END {
            return Err(VfsError::TooBig);
        }
        let (f, _) = self.file(id, true)?;
        f.write_all_at(data, offset).map_err(io_err)?;
        Ok(self.attr_at(&f.metadata().map_err(io_err)?, None, Some(&f)))
    }

    fn write_spliced(
        &self,
        id: ObjectId,
        offset: u64,
        data: &mut crate::splice::Spliced,
        len: usize,
        now: Timespec,
    ) -> VfsResult<FileAttr> {
        if is_stream_id(id) || len > data.len() {
            return write_through_buffer(self, id, offset, data, len, now);
        }
        let end = offset.checked_add(len as u64).ok_or(VfsError::TooBig)?;
        if end > MAX_END {
            return Err(VfsError::TooBig);
        }
        let (f, _) = self.file(id, true)?;
        data.splice_to_file(&f, offset, len).map_err(io_err)?;
        Ok(self.attr_at(&f.metadata().map_err(io_err)?, None, Some(&f)))
    }

    fn setattr(&self, id: ObjectId, set: &SetAttr, _now: Timespec) -> VfsResult<FileAttr> {
        if is_stream_id(id) {
            // A stream has its own size; everything else is its file's.
            let rest = SetAttr { size: None, ..set.clone() };
            if rest != SetAttr::default() {
                self.setattr(self.stream_file(id)?, &rest, _now)?;
            }
            return match set.size {
                Some(size) => self.stream_truncate(id, size),
                None => self.stream_getattr(id),
            };
        }
        let (rel, m) = self.resolve(id)?;
        let abs = self.abs(&rel);
        if let Some(size) = set.size {
            if size > MAX_END {
                return Err(VfsError::TooBig);
            }
            self.file(id, true)?.0.set_len(size).map_err(io_err)?;
        }
        // chmod is not possible on a symlink itself (Linux); it is skipped.
        // `resolve` just checked that the path is this object, not a symlink.
        if let Some(mode) = set.mode.filter(|_| !m.file_type().is_symlink()) {
            fs::set_permissions(&abs, Permissions::from_mode(mode & 0o7777)).map_err(io_err)?;
        }
        if set.uid.is_some() || set.gid.is_some() {
            std::os::unix::fs::lchown(&abs, set.uid, set.gid).map_err(io_err)?;
        }
        if set.atime.is_some() || set.mtime.is_some() {
            let (a, m) = (timespec(set.atime), timespec(set.mtime));
            utimensat(nix::fcntl::AT_FDCWD, &abs, &a, &m, UtimensatFlags::NoFollowSymlink).map_err(nix_err)?;
        }
        if set.dos.is_some() || set.btime.is_some() || set.mode.is_some() {
            let now = self.attr_at(&lstat(&abs)?, Some(&abs), None);
            self.keep_dos(&abs, &now, set)?;
        }
        // A ChangeTime set over SMB, kept while the object stays as it is
        // now (change_time.rs); symlinks and the sidecar mode keep none.
        if let Some(t) = set.ctime.filter(|_| !m.file_type().is_symlink() && !self.dos_sidecar.load(Ordering::Relaxed))
        {
            match change_time::keep(&abs, t.to_filetime(), &lstat(&abs)?) {
                Err(e) if xattr::unsupported(&e) => {}
                r => r.map_err(io_err)?,
            }
        }
        Ok(self.attr_at(&lstat(&abs)?, Some(&abs), None))
    }

    fn readdir(&self, dir: ObjectId, cookie: u64, max: usize) -> VfsResult<(Vec<DirEntry>, bool)> {
        let (rel, m) = self.resolve(dir)?;
        if !m.is_dir() {
            return Err(VfsError::NotDir);
        }
        let all = match self.kept_listing(dir, &m) {
            Some(all) => all,
            None => {
                let now = os_wall_clock();
                let all = Arc::new(self.list(&rel)?);
                if settled(&m, now, self.settle) {
                    self.keep_listing(dir, &m, Arc::clone(&all));
                }
                all
            }
        };
        let rest = all.get(all.partition_point(|e| e.cookie <= cookie)..).unwrap_or_default();
        let mut take = rest.len().min(max);
        // Entries sharing an inode share a cookie: keep them on one page.
        if let (Some(last), Some(next)) = (take.checked_sub(1).and_then(|i| rest.get(i)), rest.get(take)) {
            if last.cookie == next.cookie {
                let group = last.cookie;
                let start = rest.partition_point(|e| e.cookie < group);
                take = if start > 0 { start } else { rest.partition_point(|e| e.cookie <= group) };
            }
        }
        let page = rest.get(..take).unwrap_or_default().to_vec();
        let done = take == rest.len();
        if done {
            // Listed to the end: a next listing starts afresh.
            self.dir_changed(dir);
        }
        for e in &page {
            self.remember(e.id, rel.join(&e.name));
        }
        Ok((page, done))
    }

    fn dir_version(&self, dir: ObjectId) -> VfsResult<u64> {
        let (_, m) = self.resolve(dir)?;
        if !m.is_dir() {
            return Err(VfsError::NotDir);
        }
        let mtime = (m.mtime() as u64).wrapping_mul(1_000_000_000).wrapping_add(m.mtime_nsec() as u64);
        Ok(mtime ^ m.size().rotate_left(48) ^ m.nlink().rotate_left(32))
    }

    fn sync(&self, id: ObjectId) -> VfsResult<()> {
        if is_stream_id(id) {
            return self.sync(self.stream_file(id)?);
        }
        if let Some((f, _)) = self.cached_fd(id, false) {
            return f.sync_all().map_err(io_err);
        }
        let (rel, m) = self.resolve(id)?;
        if m.file_type().is_symlink() || !(m.is_dir() || m.is_file()) {
            return Ok(());
        }
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(self.abs(&rel))
            .map_err(io_err)?;
        f.sync_all().map_err(io_err)
    }

    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    fn fsstat(&self) -> VfsResult<FsStat> {
        let st = nix::sys::statvfs::statvfs(&self.root).map_err(nix_err)?;
        let unit = st.fragment_size() as u64;
        Ok(FsStat {
            total_bytes: (st.blocks() as u64).saturating_mul(unit),
            free_bytes: (st.blocks_free() as u64).saturating_mul(unit),
            avail_bytes: (st.blocks_available() as u64).saturating_mul(unit),
            total_files: st.files() as u64,
            free_files: st.files_free() as u64,
        })
    }

    /// `copy_file_range`: the kernel copies (on tmpfs, ext4, xfs, btrfs:
    /// without the data crossing into user space, or sharing extents). A
    /// stream, an overlapping range in one file or a refusal of the call
    /// falls back to [`copy_by_reading`].
    fn copy_range(
        &self,
        src: ObjectId,
        src_offset: u64,
        dst: ObjectId,
        dst_offset: u64,
        len: u64,
        now: Timespec,
    ) -> VfsResult<(u64, FileAttr)> {
        let overlap =
            src == dst && src_offset < dst_offset.saturating_add(len) && dst_offset < src_offset.saturating_add(len);
        if is_stream_id(src) || is_stream_id(dst) || overlap || len > MAX_COPY {
            return copy_by_reading(self, src, src_offset, dst, dst_offset, len, now);
        }
        if dst_offset.checked_add(len).is_none_or(|end| end > MAX_END) {
            return Err(VfsError::TooBig);
        }
        let (from, _) = self.file(src, false)?;
        let (to, _) = self.file(dst, true)?;
        let (mut off_in, mut off_out, mut done) = (src_offset, dst_offset, 0u64);
        while done < len {
            let want = usize::try_from(len - done).unwrap_or(usize::MAX);
            match rustix::fs::copy_file_range(&*from, Some(&mut off_in), &*to, Some(&mut off_out), want) {
                Ok(0) => break,
                Ok(n) => done += n as u64,
                Err(rustix::io::Errno::INTR) => {}
                Err(_) if done == 0 => return copy_by_reading(self, src, src_offset, dst, dst_offset, len, now),
                Err(e) => return Err(io_err(io::Error::from_raw_os_error(e.raw_os_error()))),
            }
        }
        let m = to.metadata().map_err(io_err)?;
        Ok((done, self.attr_at(&m, None, Some(&*to))))
    }

    /// A hole punched with `fallocate` (local/sparse.rs); a stream, or a
    /// file system that cannot punch, gets zeros written.
    fn zero_range(&self, id: ObjectId, offset: u64, len: u64, deallocate: bool, now: Timespec) -> VfsResult<FileAttr> {
        if is_stream_id(id) {
            return zero_by_writing(self, id, offset, len, now);
        }
        let (f, _) = self.file(id, true)?;
        let size = f.metadata().map_err(io_err)?.len();
        let end = offset.saturating_add(len).min(size);
        if offset < end && !sparse::punch(&f, offset, end - offset, deallocate).map_err(io_err)? {
            return zero_by_writing(self, id, offset, len, now);
        }
        Ok(self.attr_at(&f.metadata().map_err(io_err)?, None, Some(&f)))
    }

    /// `SEEK_DATA` / `SEEK_HOLE` (local/sparse.rs); a stream, or a file
    /// system that cannot tell, is allocated throughout.
    fn allocated_ranges(&self, id: ObjectId, offset: u64, len: u64, max: usize) -> VfsResult<Vec<(u64, u64)>> {
        let whole = |size| {
            let mut r = whole_range(size, offset, len);
            r.truncate(max);
            r
        };
        if is_stream_id(id) {
            return Ok(whole(self.getattr(id)?.size));
        }
        let (f, _) = self.file(id, false)?;
        let size = f.metadata().map_err(io_err)?.len();
        let end = offset.saturating_add(len).min(size);
        Ok(sparse::data_ranges(&f, offset, end, max).map_err(io_err)?.unwrap_or_else(|| whole(size)))
    }

    fn stream(&self, file: ObjectId, name: &str, create: bool, _now: Timespec) -> VfsResult<FileAttr> {
        self.stream_open(file, name, create)
    }

    fn list_streams(&self, file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        self.stream_base(file)?.0.list()
    }

    fn remove_stream(&self, file: ObjectId, name: &str, _now: Timespec) -> VfsResult<()> {
        self.stream_remove(file, name)
    }

    fn rename_stream(&self, file: ObjectId, from: &str, to: &str, _now: Timespec) -> VfsResult<()> {
        self.stream_rename(file, from, to)
    }

    fn security(&self, id: ObjectId) -> VfsResult<Option<Vec<u8>>> {
        let (rel, m) = self.resolve(id)?;
        let a = attr_of(&m);
        if a.kind == FileType::Symlink {
            return Ok(None);
        }
        ntacl::read(self.dos_store(&a), &self.abs(&rel)).map_err(io_err)
    }

    fn set_security(&self, id: ObjectId, sd: Option<&[u8]>, _now: Timespec) -> VfsResult<()> {
        if sd.is_some_and(|b| b.len() > MAX_SECURITY) {
            return Err(VfsError::NoSpace);
        }
        let (rel, m) = self.resolve(id)?;
        let a = attr_of(&m);
        if a.kind == FileType::Symlink {
            return Err(VfsError::NotSupported);
        }
        let abs = self.abs(&rel);
        match ntacl::write(self.dos_store(&a), &abs, sd) {
            Err(e) if !self.dos_sidecar.load(Ordering::Relaxed) && xattr::unsupported(&e) => {
                // No user xattrs here: the sidecar from now on.
                self.dos_sidecar.store(true, Ordering::Relaxed);
                ntacl::write(self.dos_store(&a), &abs, sd).map_err(io_err)
            }
            r => r.map_err(io_err),
        }
    }

    fn eas(&self, id: ObjectId) -> VfsResult<Vec<(String, Vec<u8>)>> {
        if is_stream_id(id) {
            return Ok(Vec::new());
        }
        let (rel, m) = self.resolve(id)?;
        let a = attr_of(&m);
        if a.kind == FileType::Symlink {
            return Ok(Vec::new());
        }
        eas::read(self.dos_store(&a), &self.abs(&rel)).map_err(io_err)
    }

    fn set_ea(&self, id: ObjectId, name: &str, value: &[u8], _now: Timespec) -> VfsResult<()> {
        check_ea(name, value)?;
        if eas::is_private(name) {
            return Err(VfsError::Access);
        }
        if is_stream_id(id) {
            return Err(VfsError::NotSupported);
        }
        let (rel, m) = self.resolve(id)?;
        let a = attr_of(&m);
        if a.kind == FileType::Symlink {
            return Err(VfsError::NotSupported);
        }
        let abs = self.abs(&rel);
        match eas::write(self.dos_store(&a), &abs, name, value) {
            Err(e) if !self.dos_sidecar.load(Ordering::Relaxed) && xattr::unsupported(&e) => {
                // No user xattrs here: the sidecar from now on.
                self.dos_sidecar.store(true, Ordering::Relaxed);
                eas::write(self.dos_store(&a), &abs, name, value).map_err(io_err)
            }
            r => r.map_err(io_err),
        }
    }
}

#[cfg(test)]
mod tests;
