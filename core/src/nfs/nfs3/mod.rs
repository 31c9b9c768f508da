//! NFS version 3 (RFC 1813 3): status codes, the call context (export,
//! credentials, permission checks), dispatch of the 22 procedures and the
//! failure bodies every procedure returns with a non-OK status.
//!
//! Choices where the RFC leaves room:
//! - A client address the handle's export does not allow gets NFS3ERR_ACCES
//!   (an nfsstat3 keeps the RPC layer export-agnostic, as MNT3ERR_ACCES does
//!   for MOUNT); AUTH_NONE and unknown uids map through the export's squash.
//! - Permission checks use the mode bits and the squashed AUTH_SYS identity;
//!   uid 0 bypasses them unless squashed. Owners may READ and WRITE their own
//!   files whatever the mode (clients check at open, as knfsd allows).
//! - Read-only exports answer NFS3ERR_ROFS to SETATTR, WRITE, CREATE, MKDIR,
//!   SYMLINK, MKNOD, REMOVE, RMDIR, RENAME and LINK.
//! - Every call passes [`lease::before_op`] with the lease operations it
//!   performs; a call the hook parks is stored decoded and run again by
//!   `nfs::resume`.
//! - Handles name an export and an object; they are not checked to lie below
//!   the export's directory (like knfsd with no_subtree_check).

use crate::vfs::Vfs;
use std::net::IpAddr;
use std::time::Instant;

use super::rpc::{AcceptStat, CallHeader, Credentials};
use super::xdr::{XdrReader, XdrWriter};
use super::{Answer, NfsConnection, NfsShared, ParkedCall};
use crate::common::Core;
use crate::time::Timespec;
use crate::vfs::{FileAttr, FileType, ObjectId, VfsError};

pub mod args;
pub mod attrs;
pub mod create;
pub mod export;
pub mod fh;
pub mod fsinfo;
pub mod getattr;
pub mod lease;
pub mod lookup;
pub mod read_write;
pub mod readdir;
pub mod remove;

use args::{ArgsError, Nfs3Args};
use attrs::{WccAttr, encode_post_op, encode_wcc};
use export::Caller;
use fh::{FhBytes, NfsFh3};

pub const VERSION: u32 = 3;

/// RFC 1813 3: procedure numbers.
pub mod proc_ {
    pub const NULL: u32 = 0;
    pub const GETATTR: u32 = 1;
    pub const SETATTR: u32 = 2;
    pub const LOOKUP: u32 = 3;
    pub const ACCESS: u32 = 4;
    pub const READLINK: u32 = 5;
    pub const READ: u32 = 6;
    pub const WRITE: u32 = 7;
    pub const CREATE: u32 = 8;
    pub const MKDIR: u32 = 9;
    pub const SYMLINK: u32 = 10;
    pub const MKNOD: u32 = 11;
    pub const REMOVE: u32 = 12;
    pub const RMDIR: u32 = 13;
    pub const RENAME: u32 = 14;
    pub const LINK: u32 = 15;
    pub const READDIR: u32 = 16;
    pub const READDIRPLUS: u32 = 17;
    pub const FSSTAT: u32 = 18;
    pub const FSINFO: u32 = 19;
    pub const PATHCONF: u32 = 20;
    pub const COMMIT: u32 = 21;
}

/// RFC 1813 2.6 nfsstat3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Nfs3Status {
    Ok = 0,
    Perm = 1,
    NoEnt = 2,
    Io = 5,
    NxIo = 6,
    Acces = 13,
    Exist = 17,
    XDev = 18,
    NoDev = 19,
    NotDir = 20,
    IsDir = 21,
    Inval = 22,
    FBig = 27,
    NoSpc = 28,
    RoFs = 30,
    MLink = 31,
    NameTooLong = 63,
    NotEmpty = 66,
    DQuot = 69,
    Stale = 70,
    Remote = 71,
    BadHandle = 10001,
    NotSync = 10002,
    BadCookie = 10003,
    NotSupp = 10004,
    TooSmall = 10005,
    ServerFault = 10006,
    BadType = 10007,
    Jukebox = 10008,
}

/// The one mapping from storage errors to nfsstat3.
pub fn status_from_vfs(e: &VfsError) -> Nfs3Status {
    match e {
        VfsError::NotFound => Nfs3Status::NoEnt,
        VfsError::Exists => Nfs3Status::Exist,
        VfsError::NotDir => Nfs3Status::NotDir,
        VfsError::IsDir => Nfs3Status::IsDir,
        VfsError::NotEmpty => Nfs3Status::NotEmpty,
        VfsError::Access => Nfs3Status::Acces,
        VfsError::ReadOnly => Nfs3Status::RoFs,
        VfsError::NameTooLong => Nfs3Status::NameTooLong,
        VfsError::InvalidName | VfsError::Invalid => Nfs3Status::Inval,
        VfsError::NoSpace => Nfs3Status::NoSpc,
        VfsError::TooBig => Nfs3Status::FBig,
        VfsError::Stale => Nfs3Status::Stale,
        VfsError::NotSupported => Nfs3Status::NotSupp,
        VfsError::CrossDevice => Nfs3Status::XDev,
        VfsError::Io(_) => Nfs3Status::Io,
    }
}

/// Attributes carried by a failure reply: `a` is the first post_op_attr or
/// wcc_data of the procedure's resfail, `b` the second (RENAME, LINK).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailAttrs {
    pub a_pre: Option<WccAttr>,
    pub a: Option<FileAttr>,
    pub b_pre: Option<WccAttr>,
    pub b: Option<FileAttr>,
}

/// A non-OK procedure result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nfs3Error {
    pub stat: Nfs3Status,
    pub fail: Box<FailAttrs>,
}

impl Nfs3Error {
    pub fn new(stat: Nfs3Status) -> Self {
        Self { stat, fail: Box::default() }
    }

    pub fn with_a(mut self, pre: Option<WccAttr>, post: Option<FileAttr>) -> Self {
        self.fail.a_pre = pre;
        self.fail.a = post;
        self
    }

    pub fn with_b(mut self, pre: Option<WccAttr>, post: Option<FileAttr>) -> Self {
        self.fail.b_pre = pre;
        self.fail.b = post;
        self
    }
}

impl From<VfsError> for Nfs3Error {
    fn from(e: VfsError) -> Self {
        Self::new(status_from_vfs(&e))
    }
}

impl From<Nfs3Status> for Nfs3Error {
    fn from(s: Nfs3Status) -> Self {
        Self::new(s)
    }
}

pub type NfsResult<T> = Result<T, Nfs3Error>;

/// RFC 1813 3.3: the resfail body of each procedure.
pub(crate) fn encode_fail(proc_no: u32, f: &FailAttrs, w: &mut XdrWriter) {
    use proc_::*;
    match proc_no {
        GETATTR => {}
        SETATTR | WRITE | CREATE | MKDIR | SYMLINK | MKNOD | REMOVE | RMDIR | COMMIT => {
            encode_wcc(w, f.a_pre.as_ref(), f.a.as_ref())
        }
        RENAME => {
            encode_wcc(w, f.a_pre.as_ref(), f.a.as_ref());
            encode_wcc(w, f.b_pre.as_ref(), f.b.as_ref());
        }
        LINK => {
            encode_post_op(w, f.a.as_ref());
            encode_wcc(w, f.b_pre.as_ref(), f.b.as_ref());
        }
        _ => encode_post_op(w, f.a.as_ref()),
    }
}

/// A resolved file handle: the object, its export and the caller's identity
/// as that export maps it.
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub export: u8,
    pub attr: FileAttr,
    pub caller: Caller,
    pub read_only: bool,
}

impl Obj {
    pub fn id(&self) -> ObjectId {
        self.attr.id
    }

    pub fn is_dir(&self) -> bool {
        self.attr.kind == FileType::Directory
    }

    /// The handle of another object in the same export.
    pub fn handle_of(&self, attr: &FileAttr) -> NfsFh3 {
        NfsFh3 { export: self.export, id: attr.id, generation: attr.generation }
    }

    /// NFS3ERR_ROFS on a read-only export.
    pub fn writable(&self) -> NfsResult<()> {
        if self.read_only { Err(Nfs3Status::RoFs.into()) } else { Ok(()) }
    }

    /// Whether the caller has the `want` permission bits (export::R/W/X).
    pub fn permits(&self, attr: &FileAttr, want: u32) -> bool {
        export::permits(attr, &self.caller, want)
    }
}

/// Everything a procedure handler works with.
pub(crate) struct Ctx<'a> {
    pub core: &'a mut Core,
    /// NFS state shared by every connection.
    pub nfs: &'a mut NfsShared,
    pub peer: IpAddr,
    pub cred: &'a Credentials,
    pub now: Instant,
    /// The storage request a handler asks for; the reply waits for it.
    pub io: Option<(crate::io::IoOp, read_write::NfsIo)>,
}

impl Ctx<'_> {
    pub fn wall(&self) -> Timespec {
        self.core.wall(self.now)
    }

    /// Current attributes, for post-op attributes (None if they cannot be had).
    pub fn attr(&self, id: ObjectId) -> Option<FileAttr> {
        self.core.vfs.getattr(id).ok()
    }

    /// RFC 1813 2.3.3: parses and checks a handle. BADHANDLE for one that is
    /// not ours, STALE for an unknown export, object or generation, ACCES for
    /// a client address the export does not allow.
    pub fn resolve(&self, fh: &FhBytes) -> NfsResult<Obj> {
        let h = NfsFh3::parse(&fh.0).map_err(|_| Nfs3Error::new(Nfs3Status::BadHandle))?;
        let exp = self.core.config.nfs.exports.get(h.export as usize).ok_or(Nfs3Status::Stale)?;
        if !export::allowed(exp, self.peer) {
            return Err(Nfs3Status::Acces.into());
        }
        let attr = self.core.vfs.getattr(h.id).map_err(|e| match e {
            VfsError::NotFound | VfsError::Stale => Nfs3Error::new(Nfs3Status::Stale),
            e => e.into(),
        })?;
        if attr.generation != h.generation {
            return Err(Nfs3Status::Stale.into());
        }
        let caller = export::squash(exp, self.cred);
        Ok(Obj { export: h.export, attr, caller, read_only: exp.read_only })
    }

    /// Resolves a handle that must name a directory (NOTDIR otherwise).
    pub fn resolve_dir(&self, fh: &FhBytes) -> NfsResult<Obj> {
        let o = self.resolve(fh)?;
        if !o.is_dir() {
            return Err(Nfs3Error::new(Nfs3Status::NotDir).with_a(None, Some(o.attr)));
        }
        Ok(o)
    }

    /// The root directory id of export `index`.
    pub fn export_root(&self, index: u8) -> Option<ObjectId> {
        let exp = self.core.config.nfs.exports.get(index as usize)?;
        export::resolve_path(&self.core.vfs, &exp.path).ok().map(|a| a.id)
    }
}

/// Checks a filename3 (RFC 1813 2.5): UTF-8, one component, at most 255 bytes.
pub fn check_name(name: &[u8]) -> Result<&str, Nfs3Status> {
    if name.len() > crate::vfs::MAX_NAME_LEN {
        return Err(Nfs3Status::NameTooLong);
    }
    let s = std::str::from_utf8(name).map_err(|_| Nfs3Status::Inval)?;
    crate::vfs::check_name(s).map_err(|e| status_from_vfs(&e))?;
    Ok(s)
}

/// Decodes one NFSv3 call's arguments.
pub(crate) fn decode_call(
    hdr: &CallHeader,
    cred: Credentials,
    r: &mut XdrReader<'_>,
) -> Result<ParkedCall, AcceptStat> {
    let args = Nfs3Args::decode(hdr.proc_, r).map_err(|e| match e {
        ArgsError::ProcUnavail => AcceptStat::ProcUnavail,
        ArgsError::Garbage(_) => AcceptStat::GarbageArgs,
    })?;
    Ok(ParkedCall { xid: hdr.xid, cred, args })
}

/// Runs a decoded call: asks the lease hook first, then either parks the
/// call, answers NFS3ERR_JUKEBOX or executes it.
pub(crate) fn run(
    core: &mut Core,
    shared: &mut NfsShared,
    conn: &mut NfsConnection,
    call: ParkedCall,
    w: &mut XdrWriter,
    now: Instant,
) -> Answer {
    match lease::before_op(core, shared, conn, &call.args, now) {
        lease::Proceed::Now => {}
        // RFC 1813 2.6: the client retries later.
        lease::Proceed::Jukebox => {
            core.stats.nfs_jukebox += 1;
            w.u32(Nfs3Status::Jukebox as u32);
            encode_fail(call.args.proc_no(), &FailAttrs::default(), w);
            return Answer::Results;
        }
        lease::Proceed::Park(op) => {
            shared.parked += 1;
            conn.park(op, call);
            return Answer::Parked;
        }
    }
    let mut ctx = Ctx { core, nfs: shared, peer: conn.peer.ip(), cred: &call.cred, now, io: None };
    execute(&mut ctx, &call.args, w);
    if let Some((io, kind)) = ctx.io.take() {
        let token = crate::id::WaitToken { conn: conn.id, op: conn.reserve_op() };
        core.submit_io(token, io);
        conn.wait_io(token.op, call.xid, kind);
        return Answer::Parked;
    }
    Answer::Results
}

/// Executes one procedure and appends its nfsstat3 and results.
pub(crate) fn execute(ctx: &mut Ctx<'_>, args: &Nfs3Args, w: &mut XdrWriter) {
    let mark = w.len();
    let r = match args {
        Nfs3Args::Null => Ok(()),
        Nfs3Args::Getattr(fh) => getattr::getattr(ctx, fh, w),
        Nfs3Args::Setattr { fh, attr, guard } => getattr::setattr(ctx, fh, attr, *guard, w),
        Nfs3Args::Lookup(d) => lookup::lookup(ctx, d, w),
        Nfs3Args::Access { fh, access } => getattr::access(ctx, fh, *access, w),
        Nfs3Args::Readlink(fh) => lookup::readlink(ctx, fh, w),
        Nfs3Args::Read { fh, offset, count } => read_write::read(ctx, fh, *offset, *count),
        Nfs3Args::Write { fh, offset, count, stable, data } => {
            read_write::write(ctx, fh, *offset, *count, *stable, data)
        }
        Nfs3Args::Create { where_, how } => create::create(ctx, where_, how, w),
        Nfs3Args::Mkdir { where_, attr } => create::mkdir(ctx, where_, attr, w),
        Nfs3Args::Symlink { where_, attr, target } => create::symlink(ctx, where_, attr, target, w),
        Nfs3Args::Mknod { where_, .. } => create::mknod(ctx, where_),
        Nfs3Args::Remove(d) => remove::remove(ctx, d, false, w),
        Nfs3Args::Rmdir(d) => remove::remove(ctx, d, true, w),
        Nfs3Args::Rename { from, to } => remove::rename(ctx, from, to, w),
        Nfs3Args::Link { fh, link } => remove::link(ctx, fh, link, w),
        Nfs3Args::Readdir { fh, cookie, verf, count } => {
            readdir::readdir(ctx, fh, *cookie, *verf, readdir::Sizes::plain(*count), w)
        }
        Nfs3Args::Readdirplus { fh, cookie, verf, dircount, maxcount } => {
            readdir::readdir(ctx, fh, *cookie, *verf, readdir::Sizes::plus(*dircount, *maxcount), w)
        }
        Nfs3Args::Fsstat(fh) => fsinfo::fsstat(ctx, fh, w),
        Nfs3Args::Fsinfo(fh) => fsinfo::fsinfo(ctx, fh, w),
        Nfs3Args::Pathconf(fh) => fsinfo::pathconf(ctx, fh, w),
        Nfs3Args::Commit { fh, .. } => read_write::commit(ctx, fh, w),
    };
    if let Err(e) = r {
        tracing::debug!(proc_no = args.proc_no(), stat = ?e.stat, "NFS call failed");
        w.truncate(mark);
        w.u32(e.stat as u32);
        encode_fail(args.proc_no(), &e.fail, w);
    }
}
