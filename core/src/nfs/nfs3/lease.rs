//! What each NFSv3 procedure means to SMB leases (PROTOCOL-NOTES §3), and the
//! single hook that decides whether a call may run now. Cross-protocol
//! breaks are a later issue: the hook always lets the call proceed, but a
//! call it parks is already kept and resumed by `nfs::resume`.

use std::time::Instant;

use super::args::{CreateHow, DirOpArgs, Nfs3Args};
use super::fh::NfsFh3;
use crate::nfs::NfsConnection;
use crate::server::Core;
use crate::vfs::ObjectId;

/// How an NFS operation breaks leases on one object (PROTOCOL-NOTES §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOp {
    /// READ: removes W.
    Read(ObjectId),
    /// WRITE, COMMIT of dirty data, SETATTR size, truncating CREATE: removes R+W.
    Write(ObjectId),
    /// REMOVE, RMDIR, RENAME (source and target), LINK: removes H.
    RenameDelete(ObjectId),
    /// SETATTR of mode or owner: removes H.
    SetSecurity(ObjectId),
}

/// Whether a call runs now or waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proceed {
    Now,
    Park,
}

fn id_of(fh: &super::fh::FhBytes) -> Option<ObjectId> {
    NfsFh3::parse(&fh.0).ok().map(|h| h.id)
}

fn named(core: &Core, d: &DirOpArgs) -> Option<ObjectId> {
    let dir = id_of(&d.dir)?;
    let name = std::str::from_utf8(&d.name).ok()?;
    core.vfs.lookup(dir, name).ok().map(|a| a.id)
}

/// The lease operations a call performs, best effort (objects that cannot be
/// resolved are left out: the call will fail on its own).
pub fn lease_ops(core: &Core, args: &Nfs3Args) -> Vec<LeaseOp> {
    let mut ops = Vec::new();
    match args {
        Nfs3Args::Read { fh, .. } => ops.extend(id_of(fh).map(LeaseOp::Read)),
        Nfs3Args::Write { fh, .. } => ops.extend(id_of(fh).map(LeaseOp::Write)),
        Nfs3Args::Commit { fh, .. } => {
            ops.extend(id_of(fh).filter(|id| core.nfs.dirty.contains(id)).map(LeaseOp::Write))
        }
        Nfs3Args::Setattr { fh, attr, .. } => {
            if let Some(id) = id_of(fh) {
                if attr.size.is_some() {
                    ops.push(LeaseOp::Write(id));
                }
                if attr.mode.is_some() || attr.uid.is_some() || attr.gid.is_some() {
                    ops.push(LeaseOp::SetSecurity(id));
                }
            }
        }
        Nfs3Args::Create { where_, how: CreateHow::Unchecked(a) } if a.size == Some(0) => {
            ops.extend(named(core, where_).map(LeaseOp::Write))
        }
        Nfs3Args::Remove(d) | Nfs3Args::Rmdir(d) => ops.extend(named(core, d).map(LeaseOp::RenameDelete)),
        Nfs3Args::Rename { from, to } => {
            ops.extend(named(core, from).map(LeaseOp::RenameDelete));
            ops.extend(named(core, to).map(LeaseOp::RenameDelete));
        }
        Nfs3Args::Link { fh, .. } => ops.extend(id_of(fh).map(LeaseOp::RenameDelete)),
        _ => {}
    }
    ops
}

/// The hook every NFS call passes before it touches storage. For now every
/// call proceeds; with cross-protocol breaks this plans the breaks and parks
/// the call (per the export's NfsBreakPolicy) when one must be waited for.
pub fn before_op(_core: &mut Core, _conn: &mut NfsConnection, _ops: &[LeaseOp], _now: Instant) -> Proceed {
    #[cfg(test)]
    if test_hook::PARK_NEXT.take() {
        return Proceed::Park;
    }
    Proceed::Now
}

/// Tests make the hook park the next call, to drive the park/resume path.
#[cfg(test)]
pub(crate) mod test_hook {
    use std::cell::Cell;

    thread_local! {
        pub static PARK_NEXT: Cell<bool> = const { Cell::new(false) };
    }
}
