//! The invariants checked after every step of a simulated workload.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::id::ConnId;
use crate::lease::{HolderId, HolderView, LeaseOwner, LeaseState, OpenId};
use crate::server::Server;
use crate::vfs::{ObjectId, Vfs};

use super::model::Model;

/// What a step did that may legitimately end another holder's W caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resolver {
    /// An acknowledgment, close or disconnect by the client on this connection.
    Conn(ConnId),
    /// The clock moved to this instant: breaks due by then timed out.
    Clock(Instant),
    Nothing,
}

/// Who a landed write came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writer {
    Smb { open: OpenId, lease: Option<LeaseOwner> },
    Nfs,
}

/// The lease table as it was before a step.
#[derive(Debug, Default)]
pub(super) struct Before {
    pub holders: Vec<HolderView>,
    pub deadlines: BTreeMap<u64, Instant>,
    /// The connection of each holder's owner (an oplock's open, a lease's
    /// client), as it was before the step.
    pub owners: BTreeMap<HolderId, ConnId>,
    /// Holders whose every open was kept for a client that went away
    /// (durable): any conflict may close them.
    pub disconnected: Vec<HolderId>,
}

impl Before {
    /// `lease_conn` names the connection of the client owning a lease.
    pub fn take(server: &Server, lease_conn: impl Fn(&LeaseOwner) -> Option<ConnId>) -> Self {
        let core = server.core();
        let holders = core.leases.holder_views();
        let deadlines = core.leases.break_deadlines().collect();
        let owners = holders
            .iter()
            .filter_map(|h| match h.holder {
                HolderId::Oplock(o) => Some((h.holder, core.leases.open(o)?.conn)),
                HolderId::Lease(o) => Some((h.holder, lease_conn(&o)?)),
            })
            .collect();
        let disconnected = holders.iter().map(|h| h.holder).filter(|h| core.leases.is_disconnected(*h)).collect();
        Self { holders, deadlines, owners, disconnected }
    }
}

fn is_own(writer: Writer, h: &HolderId) -> bool {
    match (writer, h) {
        (Writer::Smb { lease: Some(w), .. }, HolderId::Lease(o)) => w == *o,
        (Writer::Smb { open, .. }, HolderId::Oplock(o)) => open == *o,
        _ => false,
    }
}

/// A write from `writer` landed on `object` during the step described by
/// `before` and `resolver`: every other holder that had W caching before the
/// step must have lost it in this step, through something that can end a
/// break (its owner's ack, close or disconnect, or its break timing out),
/// or have been a durable holder without a connection.
pub(super) fn check_write(
    server: &Server,
    before: &Before,
    resolver: Resolver,
    writer: Writer,
    object: ObjectId,
) -> Result<(), String> {
    let now = server.core().leases.holder_views();
    for h in before.holders.iter().filter(|h| h.file == object && h.state.contains(LeaseState::W)) {
        if is_own(writer, &h.holder) {
            continue;
        }
        let owner = before.owners.get(&h.holder).copied();
        // A durable holder that lost its connection cannot hear a break: the
        // conflict closes it (docs/LEASES.md "Durable handles").
        let disconnected = before.disconnected.contains(&h.holder);
        let resolvable = disconnected
            || match resolver {
                Resolver::Conn(c) => Some(c) == owner,
                Resolver::Clock(to) => h.breaking && before.deadlines.get(&h.break_id).is_some_and(|at| *at <= to),
                Resolver::Nothing => false,
            };
        let still_w = now.iter().any(|n| n.holder == h.holder && n.state.contains(LeaseState::W));
        if !resolvable || still_w {
            let breaking = if h.breaking { " breaking" } else { "" };
            return Err(format!(
                "write by {} landed on object {object} while {} held {}{breaking}",
                name(&writer_holder(writer)),
                name(&Some(h.holder)),
                h.state
            ));
        }
    }
    Ok(())
}

fn writer_holder(w: Writer) -> Option<HolderId> {
    match w {
        Writer::Smb { lease: Some(o), .. } => Some(HolderId::Lease(o)),
        Writer::Smb { open, .. } => Some(HolderId::Oplock(open)),
        Writer::Nfs => None,
    }
}

/// A short name: lease guid/key bytes, oplock open id, or NFS.
pub(super) fn name(h: &Option<HolderId>) -> String {
    match h {
        Some(HolderId::Lease(o)) => format!("lease {:x}/{:x}", o.client_guid.0[0], o.key.0[0]),
        Some(HolderId::Oplock(o)) => format!("oplock of open {}", o.0),
        None => "NFS".into(),
    }
}

/// The lease table, the deadline table and the storage agree with each
/// other and with the model.
pub(super) fn check_state(server: &Server, model: &Model) -> Result<(), String> {
    let core = server.core();
    let views = core.leases.holder_views();
    for h in &views {
        if h.state != h.state.normalized() {
            return Err(format!("{:?} holds an impossible state {}", h.holder, h.state));
        }
        if h.breaking && (!h.break_to.is_subset_of(h.state) || h.break_to == h.state) {
            return Err(format!("{:?} breaking from {} to {}", h.holder, h.state, h.break_to));
        }
        // No two incompatible holders: W caching is exclusive on a file.
        if h.state.contains(LeaseState::W)
            && let Some(other) = views.iter().find(|o| o.file == h.file && o.holder != h.holder && !o.state.is_none())
        {
            return Err(format!(
                "{} holds {} while {} holds {} on object {}",
                name(&Some(h.holder)),
                h.state,
                name(&Some(other.holder)),
                other.state,
                h.file
            ));
        }
    }
    // Every pending break has its deadline, and no deadline outlives its break.
    let pending: Vec<u64> = core.leases.pending_break_ids().collect();
    for (id, _) in core.leases.break_deadlines() {
        if !pending.contains(&id) {
            return Err(format!("deadline left for resolved break {id}"));
        }
    }
    for id in &pending {
        if core.leases.break_deadline(*id).is_none() {
            return Err(format!("break {id} pending without a deadline"));
        }
        if !views.iter().any(|h| h.breaking && h.break_id == *id) {
            return Err(format!("break {id} pending with no holder breaking"));
        }
    }
    // Durable opens kept for a client that went away: the SMB side and the
    // lease table agree on how many there are.
    let (smb, table) = (server.smb_shared().durable.preserved(), core.leases.preserved_count());
    if smb != table {
        return Err(format!("{smb} durable opens preserved on the SMB side, {table} in the lease table"));
    }
    // A file's streams go with it.
    for (stream, file) in model.streams() {
        if core.vfs.getattr(*file).is_err() && core.vfs.getattr(*stream).is_ok() {
            return Err(format!("stream {stream} outlives its removed file {file}"));
        }
    }
    // HIDDEN and SYSTEM are what the last acknowledged SET_INFO or
    // overwrite left.
    for (id, want) in model.attrs() {
        let Ok(attr) = core.vfs.getattr(*id) else { continue };
        let got = attr.dos.unwrap_or(0) & 0x6;
        if got != *want {
            return Err(format!("object {id} has HIDDEN|SYSTEM {got:#x}, the model {want:#x}"));
        }
    }
    // Storage equals the model of acknowledged writes, streams included.
    for (id, want) in model.files() {
        let Ok(attr) = core.vfs.getattr(*id) else { continue };
        let got = core.vfs.read(*id, 0, attr.size as u32 + 1).map(|(b, _)| b.to_vec()).unwrap_or_default();
        if &got != want {
            return Err(format!("object {id} holds {got:?}, the model {want:?}"));
        }
    }
    Ok(())
}

/// A simulated client's Unix identity, as the workload configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Who {
    pub uid: u32,
    /// Primary group first, then the supplementary ones.
    pub groups: Vec<u32>,
}

/// The (read, write, execute) POSIX grants `who` on a file of `mode`
/// owned by `owner`:`group`. Written apart from `crate::access` on purpose,
/// as the table of POSIX.1 XBD 4.5: the first class that matches (owner,
/// then any group, then others) decides alone. Nobody here is root.
pub(super) fn posix_grants(mode: u32, owner: u32, group: u32, who: &Who) -> (bool, bool, bool) {
    let (r, w, x) = if who.uid == owner {
        (0o400, 0o200, 0o100)
    } else if who.groups.contains(&group) {
        (0o040, 0o020, 0o010)
    } else {
        (0o004, 0o002, 0o001)
    };
    (mode & r != 0, mode & w != 0, mode & x != 0)
}

/// An SMB CREATE that opened an existing file for reading and writing
/// succeeded: the mode must grant both to the session's identity, and the
/// file must not be READONLY (no owner write bit, MS-FSA 2.1.5.1.2.1).
pub(super) fn check_smb_open(server: &Server, object: ObjectId, who: &Who) -> Result<(), String> {
    // Removed (over NFS) before the response was read: nothing to check.
    let Ok(a) = server.vfs().getattr(object) else { return Ok(()) };
    if a.mode & 0o200 == 0 {
        return Err(format!("a write open of READONLY object {object} (mode {:o}) succeeded", a.mode));
    }
    match posix_grants(a.mode, a.uid, a.gid, who) {
        (true, true, _) => Ok(()),
        _ => Err(format!(
            "uid {} opened object {object} (mode {:o}, {}:{}) for read and write",
            who.uid, a.mode, a.uid, a.gid
        )),
    }
}

/// An NFS READ (`write` false) or WRITE/size change (`write` true)
/// succeeded: the mode must grant it (a read: r or x, to page in
/// binaries), except that an owner may always read and write its own file
/// (knfsd's rule for clients that checked at open).
pub(super) fn check_nfs_io(server: &Server, object: ObjectId, who: &Who, write: bool) -> Result<(), String> {
    let Ok(a) = server.vfs().getattr(object) else { return Ok(()) };
    let (r, w, x) = posix_grants(a.mode, a.uid, a.gid, who);
    let ok = who.uid == a.uid || if write { w } else { r || x };
    match ok {
        true => Ok(()),
        false => Err(format!(
            "NFS uid {} {} object {object} (mode {:o}, {}:{})",
            who.uid,
            if write { "wrote" } else { "read" },
            a.mode,
            a.uid,
            a.gid
        )),
    }
}
