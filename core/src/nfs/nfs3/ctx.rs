//! What a procedure handler works with: the call context, resolved handles
//! and the storage request a READ, WRITE or COMMIT waits for.

use std::net::SocketAddr;
use std::time::Instant;

use super::args::StableHow;
use super::attrs::WccAttr;
use super::export;
use crate::access::{self, Identity};
use super::fh::{FhBytes, NfsFh3};
use super::handle::{Passed, honour_passed};
use super::status::{Nfs3Error, Nfs3Status, NfsResult};
use crate::common::Core;
use crate::nfs::rpc::Credentials;
use crate::nfs::shared::NfsShared;
use crate::time::Timespec;
use crate::vfs::{FileAttr, FileType, ObjectId, Vfs};

/// A resolved file handle: the object, its export and the caller's identity
/// as that export maps it.
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub export: u8,
    /// The epoch of the export's slot (see `fh.rs`).
    pub epoch: u16,
    pub attr: FileAttr,
    pub caller: Identity,
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
        NfsFh3 { export: self.export, epoch: self.epoch, id: attr.id, generation: attr.generation }
    }

    /// NFS3ERR_ROFS on a read-only export.
    pub fn writable(&self) -> NfsResult<()> {
        if self.read_only { Err(Nfs3Status::RoFs.into()) } else { Ok(()) }
    }

    /// Whether the caller has the `want` permission bits (access::R/W/X).
    pub fn permits(&self, attr: &FileAttr, want: u32) -> bool {
        access::permits(attr, &self.caller, want)
    }
}

/// Everything a procedure handler works with.
pub(crate) struct Ctx<'a> {
    pub core: &'a mut Core,
    /// NFS state shared by every connection.
    pub nfs: &'a mut NfsShared,
    /// The client's address and source port (for `allowed` and `secure`).
    pub peer: SocketAddr,
    pub cred: &'a Credentials,
    pub now: Instant,
    /// The storage request a handler asks for; the reply waits for it.
    pub io: Option<(crate::io::IoOp, NfsIo)>,
    /// The call's handle as the lease hook found it, if it checked one.
    pub passed: Option<Passed>,
}

impl Ctx<'_> {
    pub fn wall(&self) -> Timespec {
        self.core.wall(self.now)
    }

    /// Current attributes, for post-op attributes (None if they cannot be had).
    pub fn attr(&self, id: ObjectId) -> Option<FileAttr> {
        self.core.vfs.getattr(id).ok()
    }

    /// A handle that passes every check of [`honour`], with the caller's
    /// identity as its export maps it.
    pub fn resolve(&self, fh: &FhBytes) -> NfsResult<Obj> {
        let h = honour_passed(self.core, self.peer, fh, self.passed.as_ref())?;
        let caller = export::squash(h.export, self.cred);
        Ok(Obj { export: h.fh.export, epoch: h.fh.epoch, attr: h.attr, caller, read_only: h.export.read_only })
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
        let exp = self.core.export(index as usize)?;
        export::root_of(&self.core.vfs, exp).ok()
    }
}

/// A READ, WRITE or COMMIT waiting for its storage request: what its reply
/// needs.
#[derive(Debug, Clone)]
pub(crate) enum NfsIo {
    /// Attributes at the call (for a failure's post-op attributes).
    Read {
        attr: FileAttr,
    },
    Write {
        id: crate::vfs::ObjectId,
        pre: WccAttr,
        stable: StableHow,
    },
    Commit {
        id: crate::vfs::ObjectId,
        pre: WccAttr,
    },
}
