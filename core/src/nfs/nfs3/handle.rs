//! The checks a file handle passes before any procedure (or the lease hook)
//! uses the object it names (RFC 1813 2.3.3): ours, of a configured export
//! the client may use from its address and port, an object that still
//! exists under the same generation, and one that lies beneath that export's
//! root.
//!
//! Confinement: a handle names an export index and an object id, both
//! chosen by the client. Without the last check a client allowed on one
//! export could put that export's index in a handle to an object of another
//! (read-only or address-restricted) export, and be served it under the
//! rules of the first. knfsd's `subtree_check` makes the same check.
//! An object outside its handle's export answers NFS3ERR_STALE, as knfsd
//! does when a handle fails it: the handle is not valid *for this export*,
//! the client drops it rather than retrying, and, unlike NFS3ERR_ACCES, the
//! answer does not confirm that the object exists elsewhere.

use std::net::SocketAddr;

use super::export::{self, root_of};
use super::fh::{FhBytes, NfsFh3};
use super::status::{Nfs3Error, Nfs3Status, NfsResult};
use crate::common::Core;
use crate::config::Export;
use crate::vfs::{FileAttr, Vfs, VfsError};

/// A handle that passed every check: the parsed handle, its export and the
/// object's current attributes.
pub(crate) struct Honoured<'a> {
    pub fh: NfsFh3,
    pub export: &'a Export,
    pub attr: FileAttr,
}

/// A handle that passed [`honour`] earlier in the same call (the lease hook
/// checks the handle of a READ, WRITE, COMMIT or SETATTR before the
/// procedure runs), with the attributes found then. Nothing touches storage
/// between the two, so the procedure takes them instead of another
/// `getattr` and walk up to the export root.
#[derive(Debug, Clone)]
pub(crate) struct Passed {
    fh: FhBytes,
    attr: FileAttr,
}

impl Passed {
    /// `fh`, checked now.
    pub fn check(core: &Core, peer: SocketAddr, fh: &FhBytes) -> Option<Self> {
        honour(core, peer, fh).ok().map(|h| Passed { fh: fh.clone(), attr: h.attr })
    }

    /// Whether `fh` is the handle that passed.
    fn is(&self, fh: &FhBytes) -> bool {
        self.fh.0 == fh.0
    }

    /// The object, if `fh` is the handle that passed.
    pub fn id_if(&self, fh: &FhBytes) -> Option<crate::vfs::ObjectId> {
        self.is(fh).then_some(self.attr.id)
    }
}

/// [`honour`], taking the result of `passed` when it is the same handle.
pub(crate) fn honour_passed<'a>(
    core: &'a Core,
    peer: SocketAddr,
    fh: &FhBytes,
    passed: Option<&Passed>,
) -> NfsResult<Honoured<'a>> {
    let Some(p) = passed.filter(|p| p.is(fh)) else { return honour(core, peer, fh) };
    let (h, exp) = parse(core, fh)?;
    Ok(Honoured { fh: h, export: exp, attr: p.attr.clone() })
}

/// The handle parsed, and the export it names (BADHANDLE, STALE).
fn parse<'a>(core: &'a Core, fh: &FhBytes) -> NfsResult<(NfsFh3, &'a Export)> {
    let h = NfsFh3::parse(&fh.0).map_err(|_| Nfs3Error::new(Nfs3Status::BadHandle))?;
    let exp = core.export_at(h.export as usize, h.epoch).ok_or(Nfs3Status::Stale)?;
    Ok((h, exp))
}

/// RFC 1813 2.3.3: parses and checks a handle. BADHANDLE for one that is
/// not ours; STALE for an unknown export, object or generation, or an object
/// outside the export; ACCES for a client address the export does not allow;
/// PERM for a `secure` export called from a port >= 1024.
pub(crate) fn honour<'a>(core: &'a Core, peer: SocketAddr, fh: &FhBytes) -> NfsResult<Honoured<'a>> {
    let (h, exp) = parse(core, fh)?;
    if !export::allowed(exp, peer.ip()) {
        return Err(Nfs3Status::Acces.into());
    }
    if !export::port_ok(exp, peer) {
        return Err(Nfs3Status::Perm.into());
    }
    let stale = |e: VfsError| match e {
        VfsError::NotFound | VfsError::Stale => Nfs3Error::new(Nfs3Status::Stale),
        e => e.into(),
    };
    let attr = core.vfs.getattr(h.id).map_err(stale)?;
    if attr.generation != h.generation {
        return Err(Nfs3Status::Stale.into());
    }
    // An export of the Vfs root holds every object: no walk at all.
    let root = root_of(&core.vfs, exp).map_err(stale)?;
    if root != core.vfs.root() && !core.vfs.is_within(h.id, root).map_err(stale)? {
        tracing::debug!(export = h.export, id = h.id, "handle names an object outside its export");
        return Err(Nfs3Status::Stale.into());
    }
    Ok(Honoured { fh: h, export: exp, attr })
}
