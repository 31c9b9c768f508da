//! The storage vocabulary: object ids, attributes, errors, name rules and
//! the [`Vfs`] trait that every backend implements.

use bytes::Bytes;

use crate::time::Timespec;

/// Stable 64-bit identity of a file-system object (the NFS fileid, the SMB
/// IndexNumber / DiskFileId).
pub type ObjectId = u64;

/// What kind of object an id names. NFS reports it as ftype3 (RFC 1813
/// 2.6: NF3REG, NF3DIR, NF3LNK; a stream as NF3REG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileType {
    /// A regular file (NF3REG).
    Regular,
    /// A directory (NF3DIR).
    Directory,
    /// A symbolic link (NF3LNK); its target comes from [`Vfs::readlink`].
    Symlink,
    /// An alternate data stream of a file (`name:stream`). Streams are read,
    /// written and truncated by id like regular files.
    Stream,
}

/// Attributes of one object, with nanosecond times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAttr {
    /// The object's id: the NFS fattr3 fileid, the SMB IndexNumber.
    pub id: ObjectId,
    /// Changes when an id is reused for a different object; part of the NFS
    /// file handle so that a handle to a removed file is STALE.
    pub generation: u64,
    /// Regular file, directory, symlink or stream.
    pub kind: FileType,
    /// POSIX permission bits (07777).
    pub mode: u32,
    /// Number of names (hard links): NFS nlink, SMB NumberOfLinks.
    pub nlink: u32,
    /// Owning user id (NFS fattr3 uid).
    pub uid: u32,
    /// Owning group id (NFS fattr3 gid).
    pub gid: u32,
    /// Logical size in bytes: NFS fattr3 size, SMB EndOfFile.
    pub size: u64,
    /// Bytes allocated on storage.
    pub used: u64,
    /// Last access time (NFS atime as nfstime3, SMB LastAccessTime).
    pub atime: Timespec,
    /// Last data modification time (NFS mtime, SMB LastWriteTime).
    pub mtime: Timespec,
    /// Status change time.
    pub ctime: Timespec,
    /// Creation (birth) time.
    pub btime: Timespec,
    /// For streams: the id of the file the stream belongs to.
    pub parent_file: Option<ObjectId>,
    /// The DOS attributes kept for the object (MS-FSCC 2.6, the bits of
    /// [`DOS_KEPT`]); `None` when none were ever set, and the server
    /// derives them (ARCHIVE for a file). READONLY and DIRECTORY are not
    /// kept here: they follow the mode and the kind.
    pub dos: Option<u32>,
}

/// The DOS attributes a backend keeps (MS-FSCC 2.6): HIDDEN, SYSTEM,
/// ARCHIVE, TEMPORARY, SPARSE_FILE, OFFLINE, NOT_CONTENT_INDEXED.
pub const DOS_KEPT: u32 = DOS_SETTABLE | 0x0200;

/// The kept DOS attributes an application sets with CREATE or SET_INFO
/// (MS-FSA 2.1.5.1.1 *ValidSetAttributes*): [`DOS_KEPT`] without
/// SPARSE_FILE, which only FSCTL_SET_SPARSE changes (MS-FSA 2.1.5.10.33).
pub const DOS_SETTABLE: u32 = 0x0002 | 0x0004 | 0x0020 | 0x0100 | 0x1000 | 0x2000;

/// Attribute changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// New POSIX permission bits (07777).
    pub mode: Option<u32>,
    /// New owning user id.
    pub uid: Option<u32>,
    /// New owning group id.
    pub gid: Option<u32>,
    /// Truncate or extend.
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<Timespec>,
    /// New modification time.
    pub mtime: Option<Timespec>,
    /// New creation time (SMB CreationTime; NFSv3 has no way to set it).
    pub btime: Option<Timespec>,
    /// New status change time (SMB ChangeTime). When `None`, backends that
    /// track ctime set it to `now`; LocalFs keeps it aside while the object
    /// is unchanged (vfs/local/change_time.rs).
    pub ctime: Option<Timespec>,
    /// New kept DOS attributes ([`FileAttr::dos`]; masked by [`DOS_KEPT`]).
    pub dos: Option<u32>,
}

/// One directory entry. `cookie` resumes the listing just after this entry
/// and stays valid when other entries are removed or added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name as stored (case preserved).
    pub name: String,
    /// The object the name refers to.
    pub id: ObjectId,
    /// The object's kind, so that a listing needs no getattr per entry.
    pub kind: FileType,
    /// Where to resume: pass it to [`Vfs::readdir`] to list the entries after
    /// this one (the NFS cookie3).
    pub cookie: u64,
}

/// Who asks: the AUTH_SYS credentials of an NFS call, or the identity an SMB
/// session maps to. Backends may ignore it; the core does the permission
/// checks from attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cred {
    /// User id (AUTH_SYS uid).
    pub uid: u32,
    /// Primary group id (AUTH_SYS gid).
    pub gid: u32,
}

/// Create parameters for new objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateAttr {
    /// POSIX permission bits of the new object.
    pub mode: u32,
    /// Owning user id of the new object.
    pub uid: u32,
    /// Owning group id of the new object.
    pub gid: u32,
}

/// Space and file counts of the whole tree, for NFS FSSTAT (RFC 1813 3.3.18)
/// and the SMB FileFsSizeInformation / FileFsFullSizeInformation classes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FsStat {
    /// Size of the file system in bytes (tbytes).
    pub total_bytes: u64,
    /// Free bytes (fbytes).
    pub free_bytes: u64,
    /// Free bytes the caller may use (abytes; SMB
    /// CallerAvailableAllocationUnits).
    pub avail_bytes: u64,
    /// Number of objects the file system can hold (tfiles).
    pub total_files: u64,
    /// Number of objects it can still hold (ffiles, also sent as afiles).
    pub free_files: u64,
}

/// Storage errors; SMB maps them to NTSTATUS, NFS to nfsstat3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VfsError {
    /// No such name, or no such stream. NFS3ERR_NOENT,
    /// STATUS_OBJECT_NAME_NOT_FOUND.
    #[error("no such file or directory")]
    NotFound,
    /// The name is taken. NFS3ERR_EXIST, STATUS_OBJECT_NAME_COLLISION.
    #[error("already exists")]
    Exists,
    /// A directory was needed. NFS3ERR_NOTDIR, STATUS_NOT_A_DIRECTORY.
    #[error("not a directory")]
    NotDir,
    /// A non-directory was needed. NFS3ERR_ISDIR, STATUS_FILE_IS_A_DIRECTORY.
    #[error("is a directory")]
    IsDir,
    /// The directory still has entries. NFS3ERR_NOTEMPTY,
    /// STATUS_DIRECTORY_NOT_EMPTY.
    #[error("directory not empty")]
    NotEmpty,
    /// Refused by the storage's own permissions. NFS3ERR_ACCES,
    /// STATUS_ACCESS_DENIED.
    #[error("permission denied")]
    Access,
    /// The storage is read-only. NFS3ERR_ROFS, STATUS_ACCESS_DENIED.
    #[error("read-only file system")]
    ReadOnly,
    /// A name over [`MAX_NAME_LEN`] bytes (or a symlink target over the
    /// backend's limit). NFS3ERR_NAMETOOLONG, STATUS_NAME_TOO_LONG.
    #[error("name too long")]
    NameTooLong,
    /// A name [`check_name`] refuses. NFS3ERR_INVAL,
    /// STATUS_OBJECT_NAME_INVALID.
    #[error("invalid name")]
    InvalidName,
    /// The operation does not apply to this object or argument (data access
    /// to a symlink, readlink of a non-symlink, an empty symlink target).
    /// NFS3ERR_INVAL, STATUS_INVALID_PARAMETER.
    #[error("invalid argument")]
    Invalid,
    /// Out of storage. NFS3ERR_NOSPC, STATUS_DISK_FULL.
    #[error("no space left")]
    NoSpace,
    /// Past the largest file size the backend supports. NFS3ERR_FBIG,
    /// STATUS_FILE_TOO_LARGE.
    #[error("file too large")]
    TooBig,
    /// The id names no object any more (removed, or reused under another
    /// generation). NFS3ERR_STALE; SMB answers STATUS_FILE_CLOSED.
    #[error("stale object id")]
    Stale,
    /// The backend lacks the feature (streams on LocalFs). NFS3ERR_NOTSUPP,
    /// STATUS_NOT_SUPPORTED.
    #[error("not supported by this backend")]
    NotSupported,
    /// A link or rename would cross file systems (LocalFs, or two mounts of
    /// [`Mounts`](super::Mounts)). NFS3ERR_XDEV, STATUS_NOT_SAME_DEVICE.
    #[error("cross-device link")]
    CrossDevice,
    /// Any other storage failure, with its description. NFS3ERR_IO,
    /// STATUS_UNSUCCESSFUL.
    #[error("I/O error: {0}")]
    Io(String),
}

/// The result of a storage operation.
pub type VfsResult<T> = Result<T, VfsError>;

/// Most bytes one `read` returns (a short read, without end of file, past
/// it): a bound on what a single request can make a backend allocate.
pub const MAX_READ: u32 = 16 << 20;

/// Entries listed per readdir call by the default [`Vfs::lookup_nocase`]
/// and [`Vfs::name_in`].
pub const NOCASE_SCAN_BATCH: usize = 1024;

/// [`Vfs::name_in`] by listing `dir` in batches.
pub fn scan_name_in(vfs: &(impl Vfs + ?Sized), dir: ObjectId, id: ObjectId) -> VfsResult<String> {
    let mut cookie = 0;
    loop {
        let (entries, done) = vfs.readdir(dir, cookie, NOCASE_SCAN_BATCH)?;
        if let Some(e) = entries.iter().find(|e| e.id == id) {
            return Ok(e.name.clone());
        }
        match entries.last() {
            Some(last) if !done => cookie = last.cookie,
            _ => return Err(VfsError::NotFound),
        }
    }
}

/// Largest range one [`Vfs::copy_range`] call copies (one SMB copy chunk
/// is at most 1 MiB; MS-SMB2 3.3.3).
pub const MAX_COPY: u64 = 1 << 20;

/// [`Vfs::copy_range`] by reading the whole range, then writing it: what
/// the source held before the copy lands even when the ranges overlap in
/// one file.
pub fn copy_by_reading(
    vfs: &(impl Vfs + ?Sized),
    src: ObjectId,
    src_offset: u64,
    dst: ObjectId,
    dst_offset: u64,
    len: u64,
    now: Timespec,
) -> VfsResult<(u64, FileAttr)> {
    if len > MAX_COPY {
        return Err(VfsError::Invalid);
    }
    let mut buf = vec![0u8; len as usize];
    let (n, _) = vfs.read_into(src, src_offset, &mut buf)?;
    let data = buf.get(..n).unwrap_or_default();
    let attr = if n == 0 { vfs.getattr(dst)? } else { vfs.write(dst, dst_offset, data, now)? };
    Ok((n as u64, attr))
}

/// [`Vfs::zero_range`] by writing zeros, at most [`MAX_COPY`] bytes at a
/// time, over the part of the range inside the file.
pub fn zero_by_writing(
    vfs: &(impl Vfs + ?Sized),
    id: ObjectId,
    offset: u64,
    len: u64,
    now: Timespec,
) -> VfsResult<FileAttr> {
    let a = vfs.getattr(id)?;
    let end = offset.saturating_add(len).min(a.size);
    let mut at = offset;
    let mut last = a;
    while at < end {
        let n = (end - at).min(MAX_COPY);
        last = vfs.write(id, at, &vec![0u8; n as usize], now)?;
        at += n;
    }
    Ok(last)
}

/// The one range `[offset, offset + len)` cut at the end of `size`, or none:
/// what [`Vfs::allocated_ranges`] answers for a backend that keeps no
/// holes.
pub fn whole_range(size: u64, offset: u64, len: u64) -> Vec<(u64, u64)> {
    let end = offset.saturating_add(len).min(size);
    if offset < end { vec![(offset, end - offset)] } else { Vec::new() }
}

/// The case folding of SMB names: simple (one-to-one) Unicode upper-casing,
/// like the NTFS upcase table; a character whose upper case is several
/// characters stays as it is. Case-insensitive lookups (and their indexes)
/// and SMB wildcard matching all use it, so they agree on which names match.
pub fn fold_char(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// `name` folded character by character with [`fold_char`]: two names are
/// equal ignoring case when their folds are equal.
pub fn fold(name: &str) -> String {
    name.chars().map(fold_char).collect()
}

/// Longest single name component accepted.
pub const MAX_NAME_LEN: usize = 255;

/// Checks one name component: not empty, not `.` or `..`, no `/`, `\` or NUL,
/// at most [`MAX_NAME_LEN`] bytes. Both backends call it; it is the first
/// line of defence against escaping a LocalFs root.
pub fn check_name(name: &str) -> VfsResult<()> {
    if name.len() > MAX_NAME_LEN {
        return Err(VfsError::NameTooLong);
    }
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(VfsError::InvalidName);
    }
    Ok(())
}

/// A file tree. Every method takes `&self` and the trait is `Sync`: the core
/// calls metadata operations from its own thread while storage workers run
/// data operations ([`Vfs::read_into`], [`Vfs::write`], [`Vfs::sync`]) on
/// others, so a backend guards its own state. `now` is the core's wall clock
/// for time stamps the backend sets itself.
pub trait Vfs: Send + Sync + std::fmt::Debug {
    /// The id of the root directory.
    fn root(&self) -> ObjectId;

    /// The attributes of `id`; `Stale` if no object has it.
    fn getattr(&self, id: ObjectId) -> VfsResult<FileAttr>;

    /// Looks `name` up in directory `dir`. `name` is one component; `.` and
    /// `..` are not accepted here (use [`Vfs::parent`]).
    fn lookup(&self, dir: ObjectId, name: &str) -> VfsResult<FileAttr>;

    /// Looks `name` up in `dir` exactly, then ignoring case (SMB names,
    /// compared by [`fold`]): the attributes and the name as stored. Of
    /// several names differing only in case, the first in listing order.
    /// The default scans the listing in batches on a miss; both backends
    /// keep a folded-name index instead.
    fn lookup_nocase(&self, dir: ObjectId, name: &str) -> VfsResult<(FileAttr, String)> {
        match self.lookup(dir, name) {
            Ok(a) => return Ok((a, name.to_string())),
            Err(VfsError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let folded = fold(name);
        let mut cookie = 0;
        loop {
            let (entries, done) = self.readdir(dir, cookie, NOCASE_SCAN_BATCH)?;
            if let Some(e) = entries.iter().find(|e| fold(&e.name) == folded) {
                return Ok((self.getattr(e.id)?, e.name.clone()));
            }
            match entries.last() {
                Some(last) if !done => cookie = last.cookie,
                _ => return Err(VfsError::NotFound),
            }
        }
    }

    /// A name under which `id` is listed in directory `dir`. The default
    /// scans the listing in batches.
    fn name_in(&self, dir: ObjectId, id: ObjectId) -> VfsResult<String> {
        scan_name_in(self, dir, id)
    }

    /// The parent of directory `dir` (the root is its own parent).
    fn parent(&self, dir: ObjectId) -> VfsResult<ObjectId>;

    /// Whether `id` is `dir` or lies below directory `dir` through one of
    /// its names (a file with hard links in several directories lies below
    /// each of them; a stream lies where its file does); `Stale` if `id`
    /// names no object. The NFS server confines every file handle to its
    /// export with it, on every call, so backends answer from what they
    /// keep (parent links, known paths) and never scan the tree.
    fn is_within(&self, id: ObjectId, dir: ObjectId) -> VfsResult<bool>;

    /// Creates an empty regular file; `Exists` if the name is taken.
    fn create(&self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr>;

    /// Creates an empty directory; `Exists` if the name is taken.
    fn mkdir(&self, dir: ObjectId, name: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr>;

    /// Creates a symbolic link holding `target` as given (never resolved by
    /// the server); `Exists` if the name is taken.
    fn symlink(&self, dir: ObjectId, name: &str, target: &str, attr: CreateAttr, now: Timespec) -> VfsResult<FileAttr>;

    /// The target of symlink `id`; `Invalid` for any other kind.
    fn readlink(&self, id: ObjectId) -> VfsResult<String>;

    /// A new name for an existing non-directory.
    fn link(&self, id: ObjectId, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<FileAttr>;

    /// Removes a non-directory name.
    fn remove(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()>;

    /// Removes an empty directory.
    fn rmdir(&self, dir: ObjectId, name: &str, now: Timespec) -> VfsResult<()>;

    /// Renames across directories. An existing target is replaced when
    /// `replace` (a file by a file, a directory by an empty directory) and
    /// gives `Exists` otherwise.
    fn rename(
        &self,
        from_dir: ObjectId,
        from: &str,
        to_dir: ObjectId,
        to: &str,
        replace: bool,
        now: Timespec,
    ) -> VfsResult<()>;

    /// Fills `buf` (at most [`MAX_READ`] bytes of it) with the data at
    /// `offset`; the count read and whether the end of file was reached. A
    /// count below `buf.len()` without end of file is a short read. `buf` may
    /// hold old bytes (buffers are reused): only the first `count` are data.
    fn read_into(&self, id: ObjectId, offset: u64, buf: &mut [u8]) -> VfsResult<(usize, bool)>;

    /// The kernel file that holds the data of regular file `id`, and its
    /// size now, when reads of it may be spliced from that file into the
    /// socket (`crate::splice`) instead of read into a buffer; `None` (the
    /// default) when the data lives elsewhere (in memory, in a stream).
    /// Checked like [`Vfs::read_into`]: an error here is the read's error.
    fn read_file(&self, _id: ObjectId) -> VfsResult<Option<(std::sync::Arc<std::fs::File>, u64)>> {
        Ok(None)
    }

    /// Up to `len` bytes (at most [`MAX_READ`]) at `offset` in a new buffer,
    /// and whether the end of file was reached. The data path uses
    /// [`Vfs::read_into`] with pooled buffers instead.
    fn read(&self, id: ObjectId, offset: u64, len: u32) -> VfsResult<(Bytes, bool)> {
        let size = self.getattr(id)?.size;
        let n = size.saturating_sub(offset).min(u64::from(len.min(MAX_READ))) as usize;
        let mut buf = vec![0u8; n];
        let (got, eof) = self.read_into(id, offset, &mut buf)?;
        buf.truncate(got);
        Ok((Bytes::from(buf), eof))
    }

    /// Writes at `offset`, extending the file as needed; returns the new
    /// attributes.
    fn write(&self, id: ObjectId, offset: u64, data: &[u8], now: Timespec) -> VfsResult<FileAttr>;

    /// [`Vfs::write`] of the first `len` bytes `data`'s pipes hold (a WRITE
    /// the adapter received into pipes, [`crate::splice::Inflow`]). Storage
    /// backed by a kernel file splices them into it; the default reads them
    /// into a buffer and calls [`Vfs::write`].
    fn write_spliced(
        &self,
        id: ObjectId,
        offset: u64,
        data: &mut crate::splice::Spliced,
        len: usize,
        now: Timespec,
    ) -> VfsResult<FileAttr> {
        write_through_buffer(self, id, offset, data, len, now)
    }

    /// Applies the `Some` fields of `set` and returns the new attributes. A
    /// size truncates or extends the file (zeros) and updates mtime.
    fn setattr(&self, id: ObjectId, set: &SetAttr, now: Timespec) -> VfsResult<FileAttr>;

    /// Entries of `dir` after `cookie` (0 = from the start), at most `max`.
    /// `.` and `..` are not listed. Returns the entries and whether the
    /// listing is complete.
    fn readdir(&self, dir: ObjectId, cookie: u64, max: usize) -> VfsResult<(Vec<DirEntry>, bool)>;

    /// Changes whenever the listing of `dir` changes (the NFS cookieverf).
    fn dir_version(&self, dir: ObjectId) -> VfsResult<u64>;

    /// Makes written data of `id` durable.
    fn sync(&self, id: ObjectId) -> VfsResult<()>;

    /// Space and file counts of the whole tree.
    fn fsstat(&self) -> VfsResult<FsStat>;

    /// Copies `len` bytes (at most [`MAX_COPY`]) of `src` at `src_offset`
    /// to `dst` at `dst_offset`, extending `dst` as needed: a server-side
    /// copy (SMB COPYCHUNK) that never leaves storage. Returns the bytes
    /// copied (fewer when the source ends first) and `dst`'s attributes.
    /// The default reads the range and writes it ([`copy_by_reading`]);
    /// LocalFs lets the kernel copy (`copy_file_range`).
    fn copy_range(
        &self,
        src: ObjectId,
        src_offset: u64,
        dst: ObjectId,
        dst_offset: u64,
        len: u64,
        now: Timespec,
    ) -> VfsResult<(u64, FileAttr)> {
        copy_by_reading(self, src, src_offset, dst, dst_offset, len, now)
    }

    /// Zeros the bytes of `id` in `[offset, offset + len)` that lie inside
    /// the file, never changing its size (FSCTL_SET_ZERO_DATA, MS-FSA
    /// 2.1.5.10.34); returns the new attributes. With `deallocate` the
    /// backend frees the zeroed storage where it can (a hole in a sparse
    /// file); without, the range stays allocated. The default writes zeros
    /// ([`zero_by_writing`]); LocalFs punches a hole (`fallocate`).
    fn zero_range(&self, id: ObjectId, offset: u64, len: u64, deallocate: bool, now: Timespec) -> VfsResult<FileAttr> {
        let _ = deallocate;
        zero_by_writing(self, id, offset, len, now)
    }

    /// The allocated ranges of `id` inside `[offset, offset + len)` and the
    /// file, as (offset, length), in order and merged, at most `max` of them
    /// (FSCTL_QUERY_ALLOCATED_RANGES, MS-FSA 2.1.5.10.22). Holes read as
    /// zeros whatever this says. The default keeps no holes: the whole
    /// range ([`whole_range`]).
    fn allocated_ranges(&self, id: ObjectId, offset: u64, len: u64, max: usize) -> VfsResult<Vec<(u64, u64)>> {
        let mut r = whole_range(self.getattr(id)?.size, offset, len);
        r.truncate(max);
        Ok(r)
    }

    /// The named alternate data stream of file `file`; `create` makes it if
    /// missing. Backends without streams answer `NotSupported`.
    fn stream(&self, file: ObjectId, name: &str, create: bool, now: Timespec) -> VfsResult<FileAttr>;

    /// The alternate data streams of `file` as (name, size), without the
    /// unnamed default stream.
    fn list_streams(&self, file: ObjectId) -> VfsResult<Vec<(String, u64)>>;

    /// Removes the named alternate data stream of `file`; `NotFound` if it
    /// has none by that name.
    fn remove_stream(&self, file: ObjectId, name: &str, now: Timespec) -> VfsResult<()>;

    /// Renames the named alternate data stream `from` of `file` to `to`,
    /// within the file (MS-FSA 2.1.5.15.12.1): a stream `to` that exists is
    /// replaced (the caller checks first that it may be), and the stream
    /// keeps its id, so its opens follow it. `NotFound` if `file` has no
    /// stream `from`. The default (backends without streams) answers
    /// `NotSupported`.
    fn rename_stream(&self, file: ObjectId, from: &str, to: &str, now: Timespec) -> VfsResult<()> {
        let _ = (file, from, to, now);
        Err(VfsError::NotSupported)
    }

    /// The security descriptor kept for `id` (self-relative, MS-DTYP 2.4.6;
    /// opaque to the backend), `None` when none is kept. The default keeps
    /// none.
    fn security(&self, id: ObjectId) -> VfsResult<Option<Vec<u8>>> {
        let _ = id;
        Ok(None)
    }

    /// Keeps `sd` (at most [`MAX_SECURITY`] bytes) for `id`, or forgets what
    /// was kept (`None`); the object's ctime moves. The default refuses
    /// (`NotSupported`).
    fn set_security(&self, id: ObjectId, sd: Option<&[u8]>, now: Timespec) -> VfsResult<()> {
        let _ = (id, sd, now);
        Err(VfsError::NotSupported)
    }

    /// The extended attributes of `id` (MS-FSCC 2.4.16) as (name, value),
    /// in the order kept, names as stored; empty when it has none. Values
    /// are never empty. The default keeps none.
    fn eas(&self, id: ObjectId) -> VfsResult<Vec<(String, Vec<u8>)>> {
        let _ = id;
        Ok(Vec::new())
    }

    /// Sets extended attribute `name` (matched exactly; the caller finds a
    /// stored name that differs in case) of `id` to `value`, or removes it
    /// when `value` is empty (no error when there is none). Names are at
    /// most [`MAX_EA_NAME`] bytes, values at most [`MAX_EA_VALUE`]; a name
    /// the backend keeps its own values under is `Access`. The object's
    /// ctime moves. The default refuses (`NotSupported`).
    fn set_ea(&self, id: ObjectId, name: &str, value: &[u8], now: Timespec) -> VfsResult<()> {
        let _ = (id, name, value, now);
        Err(VfsError::NotSupported)
    }
}

/// Checks an extended attribute for [`Vfs::set_ea`]: a name of 1 to
/// [`MAX_EA_NAME`] bytes without NUL or `/`, a value of at most
/// [`MAX_EA_VALUE`] bytes (`InvalidName`, `TooBig`).
pub fn check_ea(name: &str, value: &[u8]) -> VfsResult<()> {
    if name.is_empty() || name.len() > MAX_EA_NAME || name.contains(['\0', '/']) {
        return Err(VfsError::InvalidName);
    }
    if value.len() > MAX_EA_VALUE {
        return Err(VfsError::TooBig);
    }
    Ok(())
}

/// The longest extended attribute name a backend keeps: EaNameLength is
/// one byte (MS-FSCC 2.4.16), and LocalFs's `user.` prefix must fit the
/// 255-byte Linux attribute name.
pub const MAX_EA_NAME: usize = 250;
/// The largest extended attribute value: EaValueLength is 16 bits.
pub const MAX_EA_VALUE: usize = 65_535;

/// The largest security descriptor a backend keeps: an ACL's size is a
/// 16-bit field (MS-DTYP 2.4.5), and a descriptor has at most two.
pub const MAX_SECURITY: usize = 3 * 65_536;

/// [`Vfs::write_spliced`] for storage that takes bytes: the data read out
/// of its pipes, then written.
pub fn write_through_buffer<V: Vfs + ?Sized>(
    vfs: &V,
    id: ObjectId,
    offset: u64,
    data: &mut crate::splice::Spliced,
    len: usize,
    now: Timespec,
) -> VfsResult<FileAttr> {
    if len > data.len() {
        return Err(VfsError::Io("write data shorter than its count".into()));
    }
    let buf = data.read_vec(len).map_err(|e| VfsError::Io(e.to_string()))?;
    vfs.write(id, offset, &buf, now)
}
