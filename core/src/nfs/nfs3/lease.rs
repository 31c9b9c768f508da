//! What each NFSv3 procedure means to SMB leases (docs/LEASES.md "NFS against leases"), and the
//! single hook that decides whether a call may run now. NFS has no caching of
//! its own: every call is an "other key" operation ([`Caller::Nobody`]) in the
//! same lease table SMB uses, keyed by the Vfs ObjectId of the file (the id
//! SMB CREATE registers its opens under).
//!
//! Per export ([`NfsBreakPolicy`]): `Wait` parks the call until every break
//! it must wait for resolves (ack, break timeout, holder closing or
//! disconnecting), then `nfs::resume` runs it again from scratch; `Jukebox`
//! sends the breaks and answers NFS3ERR_JUKEBOX at once. Breaks that need no
//! wait never delay the reply.

use crate::vfs::Vfs;
use std::net::SocketAddr;
use std::time::Instant;

use super::args::{CreateHow, DirOpArgs, Nfs3Args};
use super::fh::NfsFh3;
use super::handle::{Passed, honour};
use crate::common::Core;
use crate::config::{Export, NfsBreakPolicy};
use crate::id::WaitToken;
use crate::lease::{Caller, Decision, FileKey, Operation};
use crate::nfs::conn::NfsConnection;
use crate::nfs::shared::NfsShared;
use crate::vfs::ObjectId;

/// How an NFS operation breaks leases on one object (docs/LEASES.md "NFS against leases").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOp {
    /// READ: removes W.
    Read(ObjectId),
    /// WRITE, COMMIT of dirty data: removes R+W.
    Write(ObjectId),
    /// SETATTR size, truncating CREATE: removes R+W.
    SetEndOfFile(ObjectId),
    /// RENAME, source or existing target: removes H (waits).
    Rename(ObjectId),
    /// REMOVE, RMDIR: removes H (waits).
    Delete(ObjectId),
    /// LINK: removes H.
    Link(ObjectId),
    /// SETATTR of mode or owner: removes H.
    SetSecurity(ObjectId),
    /// A change among the children of this directory (a name created,
    /// removed, renamed or linked; a child's attributes or size): breaks
    /// its directory leases (docs/LEASES.md "Directory leases").
    ChildChange(ObjectId),
}

impl LeaseOp {
    /// The lease-table key and operation.
    pub fn to_table(self) -> (FileKey, Operation) {
        match self {
            LeaseOp::Read(id) => (id, Operation::Read),
            LeaseOp::Write(id) => (id, Operation::Write),
            LeaseOp::SetEndOfFile(id) => (id, Operation::SetEndOfFile),
            LeaseOp::Rename(id) => (id, Operation::Rename),
            LeaseOp::Delete(id) => (id, Operation::Delete),
            LeaseOp::Link(id) => (id, Operation::Link),
            LeaseOp::SetSecurity(id) => (id, Operation::SetSecurity),
            LeaseOp::ChildChange(dir) => (dir, Operation::ChildChange),
        }
    }

    /// The access an open performing this operation would need, for the
    /// share-mode check against SMB opens (docs/WINDOWS-SEMANTICS.md "Share
    /// modes and NFS"): DELETE for a remove or rename (MS-FSA 2.1.5.1.2.1,
    /// 2.1.5.14.11), FILE_WRITE_DATA for a write or a size change. Reads,
    /// links and attribute changes meet no share mode.
    fn share_access(self) -> Option<(ObjectId, u32)> {
        use crate::lease::access::{DELETE, FILE_WRITE_DATA};
        match self {
            LeaseOp::Rename(id) | LeaseOp::Delete(id) => Some((id, DELETE)),
            LeaseOp::Write(id) | LeaseOp::SetEndOfFile(id) => Some((id, FILE_WRITE_DATA)),
            _ => None,
        }
    }
}

/// Whether a call runs now or waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proceed {
    Now,
    /// Parked in the lease table under this op id of the connection.
    Park(u64),
    /// Answer NFS3ERR_JUKEBOX now (the breaks are on their way, or an SMB
    /// open's share mode refuses the call on a `Jukebox` export).
    Jukebox,
    /// Answer NFS3ERR_ACCES now: an SMB open's share mode refuses the call
    /// (a `Wait` export).
    Refuse,
}

/// The object of a handle the call will be allowed to use: a handle that
/// fails [`honour`] (another export's object, a refused address or port)
/// breaks nothing, since the call itself will fail.
fn id_of(core: &Core, peer: SocketAddr, fh: &super::fh::FhBytes) -> Option<ObjectId> {
    honour(core, peer, fh).ok().map(|h| h.fh.id)
}

fn named(core: &Core, peer: SocketAddr, d: &DirOpArgs) -> Option<ObjectId> {
    let dir = id_of(core, peer, &d.dir)?;
    let name = std::str::from_utf8(&d.name).ok()?;
    core.vfs.lookup(dir, name).ok().map(|a| a.id)
}

/// The directories holding `id` among those with a directory lease: a file
/// handle names no parent, so a change to a file found by its handle
/// (SETATTR, an extending WRITE) is looked up in each leased directory.
/// Only directories whose leases still cache something are searched.
fn leased_parents(core: &Core, id: ObjectId, dirs: Vec<ObjectId>) -> impl Iterator<Item = ObjectId> + '_ {
    dirs.into_iter().filter(move |d| *d != id && core.vfs.name_in(*d, id).is_ok())
}

/// The handle of a READ, WRITE, COMMIT or SETATTR, checked once for both
/// the lease hook and the procedure ([`Passed`]).
pub(crate) fn checked_handle(core: &Core, peer: SocketAddr, args: &Nfs3Args) -> Option<Passed> {
    match args {
        Nfs3Args::Read { fh, .. }
        | Nfs3Args::Write { fh, .. }
        | Nfs3Args::Commit { fh, .. }
        | Nfs3Args::Setattr { fh, .. } => Passed::check(core, peer, fh),
        _ => None,
    }
}

/// The lease operations a call performs, best effort (objects that cannot be
/// resolved are left out: the call will fail on its own).
pub fn lease_ops(core: &Core, shared: &NfsShared, peer: SocketAddr, args: &Nfs3Args) -> Vec<LeaseOp> {
    lease_ops_passed(core, shared, peer, args, None)
}

/// [`lease_ops`], with the call's handle already checked.
fn lease_ops_passed(
    core: &Core,
    shared: &NfsShared,
    peer: SocketAddr,
    args: &Nfs3Args,
    passed: Option<&Passed>,
) -> Vec<LeaseOp> {
    let id_of = |fh: &super::fh::FhBytes| passed.and_then(|p| p.id_if(fh)).or_else(|| id_of(core, peer, fh));
    let named = |d: &DirOpArgs| named(core, peer, d);
    // The directory of a name an operation adds, removes or renames.
    let dir_of = |d: &DirOpArgs| id_of(&d.dir).map(LeaseOp::ChildChange);
    let mut ops = Vec::new();
    match args {
        Nfs3Args::Read { fh, .. } => ops.extend(id_of(fh).map(LeaseOp::Read)),
        Nfs3Args::Write { fh, offset, data, .. } => {
            if let Some(id) = id_of(fh) {
                ops.push(LeaseOp::Write(id));
                // A write past the end changes the size in the directory
                // (the size is looked up only when a directory is leased).
                let dirs = core.leases.leased_directories();
                let end = offset.saturating_add(data.len() as u64);
                if !dirs.is_empty() && core.vfs.getattr(id).is_ok_and(|a| end > a.size) {
                    ops.extend(leased_parents(core, id, dirs).map(LeaseOp::ChildChange));
                }
            }
        }
        Nfs3Args::Commit { fh, .. } => ops.extend(id_of(fh).filter(|id| shared.dirty.contains(id)).map(LeaseOp::Write)),
        Nfs3Args::Setattr { fh, attr, .. } => {
            if let Some(id) = id_of(fh) {
                if attr.size.is_some() {
                    ops.push(LeaseOp::SetEndOfFile(id));
                }
                if attr.mode.is_some() || attr.uid.is_some() || attr.gid.is_some() {
                    ops.push(LeaseOp::SetSecurity(id));
                }
                ops.extend(leased_parents(core, id, core.leases.leased_directories()).map(LeaseOp::ChildChange));
            }
        }
        Nfs3Args::Create { where_, how } => {
            if let CreateHow::Unchecked(a) = how
                && a.size == Some(0)
            {
                ops.extend(named(where_).map(LeaseOp::SetEndOfFile));
            }
            ops.extend(dir_of(where_));
        }
        Nfs3Args::Mkdir { where_, .. } | Nfs3Args::Symlink { where_, .. } | Nfs3Args::Mknod { where_, .. } => {
            ops.extend(dir_of(where_))
        }
        Nfs3Args::Remove(d) | Nfs3Args::Rmdir(d) => {
            ops.extend(named(d).map(LeaseOp::Delete));
            ops.extend(dir_of(d));
        }
        Nfs3Args::Rename { from, to } => {
            ops.extend(named(from).map(LeaseOp::Rename));
            ops.extend(named(to).map(LeaseOp::Rename));
            ops.extend(dir_of(from));
            if to.dir.0 != from.dir.0 {
                ops.extend(dir_of(to));
            }
        }
        Nfs3Args::Link { fh, link } => {
            ops.extend(id_of(fh).map(LeaseOp::Link));
            ops.extend(dir_of(link));
        }
        _ => {}
    }
    ops
}

/// The export a call's (first) handle names, for its break policy and
/// timeout.
fn export_of<'a>(core: &'a Core, args: &Nfs3Args) -> Option<&'a Export> {
    let fh = match args {
        Nfs3Args::Read { fh, .. }
        | Nfs3Args::Write { fh, .. }
        | Nfs3Args::Commit { fh, .. }
        | Nfs3Args::Setattr { fh, .. }
        | Nfs3Args::Link { fh, .. } => fh,
        Nfs3Args::Create { where_: d, .. }
        | Nfs3Args::Mkdir { where_: d, .. }
        | Nfs3Args::Symlink { where_: d, .. }
        | Nfs3Args::Mknod { where_: d, .. }
        | Nfs3Args::Remove(d)
        | Nfs3Args::Rmdir(d) => &d.dir,
        Nfs3Args::Rename { from, .. } => &from.dir,
        _ => return None,
    };
    NfsFh3::parse(&fh.0).ok().and_then(|h| core.export_at(h.export as usize, h.epoch))
}

/// Whether an SMB open's share mode refuses one of `ops`: the NFS call is
/// taken as an open with the access it needs that shares everything (it
/// holds nothing others could meet), checked as an SMB CREATE is (MS-FSA
/// 2.1.5.1.2.1). A remove or rename meets the opens of the file's streams
/// too, and a directory's rename any open below it, as an SMB rename does
/// (MS-FSA 2.1.5.15.12, 2.1.4.2).
fn share_denied(core: &Core, ops: &[LeaseOp]) -> bool {
    use crate::lease::access::DELETE as DELETE_ACCESS;
    use crate::lease::share::{DELETE, READ, WRITE};
    ops.iter().filter_map(|op| op.share_access()).any(|(id, access)| {
        core.leases.check_share(id, access, READ | WRITE | DELETE).is_err()
            || access & DELETE_ACCESS != 0
                && (core.leases.streams_allow_delete(id).is_err() || core.has_open_below(id))
    })
}

/// The hook every NFS call passes before it touches storage: sends the
/// breaks the call causes and decides whether it runs now, parks, or is
/// answered NFS3ERR_JUKEBOX (the export's policy, or the parked-call limits
/// `limits.max_parked` and `limits.max_outstanding_per_conn` reached).
pub(crate) fn before_op(
    core: &mut Core,
    shared: &NfsShared,
    conn: &mut NfsConnection,
    args: &Nfs3Args,
    passed: Option<&Passed>,
    now: Instant,
) -> Proceed {
    let lops = lease_ops_passed(core, shared, conn.peer, args, passed);
    let ops: Vec<(FileKey, Operation)> = lops.iter().map(|op| op.to_table()).collect();
    if ops.is_empty() {
        return Proceed::Now;
    }
    let full = conn.parked_count() >= core.config.limits.max_outstanding_per_conn
        || shared.parked >= core.config.limits.max_parked;
    let (policy, timeout) = export_of(core, args).map_or((NfsBreakPolicy::default(), None), |e| (e.policy, e.break_timeout));
    // After the breaks (an H break lets the holder close the handles it
    // kept, MS-FSA 2.1.5.1.2), the SMB opens' share modes: a COMMIT wrote
    // nothing new, its WRITEs met them.
    let shared_ok = |core: &Core| matches!(args, Nfs3Args::Commit { .. }) || !share_denied(core, &lops);
    let refused = match policy {
        NfsBreakPolicy::Wait => Proceed::Refuse,
        NfsBreakPolicy::Jukebox => Proceed::Jukebox,
    };
    if full || policy == NfsBreakPolicy::Jukebox {
        return match core.leases.break_only(&ops, Caller::Nobody, now) {
            Decision::Proceed if shared_ok(core) => Proceed::Now,
            Decision::Proceed => refused,
            Decision::Wait => Proceed::Jukebox,
        };
    }
    let op = conn.reserve_op();
    let token = WaitToken { conn: conn.id, op };
    match core.leases.begin_all(&ops, Caller::Nobody, token, now) {
        Decision::Proceed if shared_ok(core) => Proceed::Now,
        Decision::Proceed => refused,
        Decision::Wait => {
            // The export's own break timeout bounds this call's wait.
            if let Some(t) = timeout {
                core.leases.hasten_breaks_of(token, now.checked_add(t).unwrap_or(now));
            }
            Proceed::Park(op)
        }
    }
}
