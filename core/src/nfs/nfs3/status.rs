//! NFSv3 procedure numbers, status codes and errors, the failure bodies
//! and the filename check every procedure shares.

use super::attrs::{WccAttr, encode_post_op, encode_wcc};
use crate::nfs::xdr::XdrWriter;
use crate::vfs::{FileAttr, VfsError};

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

/// Checks a filename3 (RFC 1813 2.5): UTF-8, one component, at most 255 bytes.
pub fn check_name(name: &[u8]) -> Result<&str, Nfs3Status> {
    if name.len() > crate::vfs::MAX_NAME_LEN {
        return Err(Nfs3Status::NameTooLong);
    }
    let s = std::str::from_utf8(name).map_err(|_| Nfs3Status::Inval)?;
    crate::vfs::check_name(s).map_err(|e| status_from_vfs(&e))?;
    Ok(s)
}
