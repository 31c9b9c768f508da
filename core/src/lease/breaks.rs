//! Break planning: which caching an operation takes away from holders with
//! another key, and which of those losses it must wait for (MS-FSA 2.1.4.12,
//! docs/LEASES.md "What breaks what").

use super::lease::{ClientGuid, LeaseKey, LeaseVersion};
use super::open::OpenId;
use super::open::access::STAT_OPEN_MASK;
use super::state::LeaseState;
use crate::id::ConnId;

/// What a protocol is about to do to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// An open (SMB CREATE). `truncate` for SUPERSEDE, OVERWRITE and
    /// OVERWRITE_IF (and an NFS CREATE that truncates).
    Open {
        /// Granted access, generic bits mapped ([`access`](crate::lease::access)
        /// bits). An open asking only for stat access breaks nothing.
        access: u32,
        /// ShareAccess ([`share`](crate::lease::share) bits): an open failing the
        /// share-mode check breaks only H (MS-FSA 2.1.5.1.2).
        share: u32,
        /// The open truncates, so it breaks R too, not just W.
        truncate: bool,
    },
    /// A read of the data: breaks W and waits for it.
    Read,
    /// FLUSH: breaks like a read (MS-FSA 2.1.4.12 FLUSH_DATA).
    Flush,
    /// A write of the data: breaks R and W, waits for W.
    Write,
    /// A byte-range lock.
    Lock,
    /// Set end-of-file or allocation size (NFS SETATTR size).
    SetEndOfFile,
    /// Rename with this file as source or target.
    Rename,
    /// A hard link to this file.
    Link,
    /// Delete-on-close or a remove.
    Delete,
    /// Set security (NFS SETATTR of mode or owner).
    SetSecurity,
    /// A change among the children of this directory: a name created,
    /// removed or renamed, or a child's attributes or size changed. MS-FSA
    /// 2.1.4.12 with Flags PARENT_OBJECT: only directory leases hold caching
    /// here, and the break compares the caller's ParentLeaseKey with the
    /// holder's key (MS-FSA 2.1.4.12.2).
    ChildChange,
}

/// Who performs an operation: its own caching never breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// An SMB open under a lease key (an SMB CREATE with a lease context).
    Lease(ClientGuid, LeaseKey),
    /// An existing open: its oplock, or the lease it was made under, is its
    /// own; for [`Operation::ChildChange`], the directory lease its lease
    /// names as ParentLeaseKey.
    Open(OpenId),
    /// A new child (SMB CREATE) whose v2 lease context names this
    /// ParentLeaseKey: for [`Operation::ChildChange`] the directory lease
    /// (ClientGuid, ParentLeaseKey) is its own (MS-FSA 2.1.4.12.2).
    Parent(ClientGuid, LeaseKey),
    /// No caching of its own (NFS, or an SMB CREATE without a lease).
    Nobody,
}

/// Whether the operation may go on now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to wait for: run the operation now.
    Proceed,
    /// Parked under the given WaitToken until its breaks resolve; it is
    /// handed back through the wake-up queue, and is then re-run from scratch.
    Wait,
}

/// Where a break notification goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakTarget {
    /// MS-SMB2 2.2.23.2 Lease Break Notification.
    Lease {
        /// The ClientGuid owning the lease.
        client_guid: ClientGuid,
        /// The LeaseKey of the lease.
        key: LeaseKey,
        /// Connections with opens under the lease, most recent first; SMB
        /// sends on the first live connection of the ClientGuid
        /// (MS-SMB2 3.3.4.7) and falls back on these.
        conns: Vec<ConnId>,
        /// The opens under the lease, most recent first: an SMB break that
        /// is sealed takes the key of their session (see
        /// `smb::seal::unsolicited_seal`).
        opens: Vec<OpenId>,
    },
    /// MS-SMB2 2.2.23.1 Oplock Break Notification.
    Oplock {
        /// The open holding the oplock.
        open: OpenId,
        /// The connection the open was made on; an oplock break goes there only
        /// (MS-SMB2 3.3.4.6).
        conn: ConnId,
        /// New level on the wire: 0 none, 1 level II.
        level: u8,
    },
}

/// A break to send, in the order the breaks were caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakNotification {
    /// Who the notification is for.
    pub target: BreakTarget,
    /// CurrentLeaseState: the caching held before the break (an oplock's
    /// level as its state).
    pub current: LeaseState,
    /// NewLeaseState: what the holder may keep (for an oplock, R for level II
    /// or NONE).
    pub new: LeaseState,
    /// NewEpoch for v2 leases; 0 for v1 leases and oplocks.
    pub epoch: u16,
    /// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED: the current state holds W
    /// or H (an R-only lease or a level II oplock drops to NONE at once).
    pub ack_required: bool,
    /// The lease's format; V1 for oplocks.
    pub version: LeaseVersion,
}

/// The kind of holder a plan is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HolderKind {
    Lease,
    Oplock,
}

/// What an operation does to one holder with another key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    /// Rights taken away (BreakCacheState).
    pub remove: LeaseState,
    /// Of those, the ones the operation waits for.
    pub wait_for: LeaseState,
}

impl Plan {
    const NOTHING: Self = Self { remove: LeaseState::NONE, wait_for: LeaseState::NONE };
    const REMOVE_W: Self = Self { remove: LeaseState::W, wait_for: LeaseState::W };
    const REMOVE_RW: Self = Self { remove: LeaseState::RW, wait_for: LeaseState::W };
    const REMOVE_H_WAIT: Self = Self { remove: LeaseState::H, wait_for: LeaseState::H };
    const REMOVE_H: Self = Self { remove: LeaseState::H, wait_for: LeaseState::NONE };
    /// PARENT_OBJECT: BreakCacheState R|W takes a directory's RH or R to
    /// NONE. MS-FSA sets no NeedToWait here; polyshare waits for H all the
    /// same, so a change is not answered while a client may still serve the
    /// old listing from its cache (docs/LEASES.md "Directory leases").
    const REMOVE_RW_WAIT_H: Self = Self { remove: LeaseState::RW, wait_for: LeaseState::H };
}

/// An open asking only for these breaks no oplock (MS-FSA 2.1.4.12: classic
/// oplocks do not count READ_CONTROL as a stat access).
const OPLOCK_STAT_MASK: u32 = super::open::access::FILE_READ_ATTRIBUTES
    | super::open::access::FILE_WRITE_ATTRIBUTES
    | super::open::access::SYNCHRONIZE;

/// Is an open with `access` a stat open for this kind of holder?
pub(crate) fn is_stat_open(access: u32, kind: HolderKind) -> bool {
    let mask = match kind {
        HolderKind::Lease => STAT_OPEN_MASK,
        HolderKind::Oplock => OPLOCK_STAT_MASK,
    };
    access & !mask == 0
}

/// Does `op` break a level II oplock even when the oplock is the caller's
/// own? MS-FSA 2.1.4.12: a break to none (write, byte-range lock, end of
/// file or allocation) removes every LEVEL_TWO oplock without comparing
/// oplock keys; only exclusive and batch oplocks and leases are spared their
/// own operations. The level II holder learns from the break that its cache
/// is stale (smbtorture smb2.oplock.batch1, brl1, levelii500).
pub(crate) fn breaks_own_level_ii(op: Operation, kind: HolderKind, held: LeaseState) -> bool {
    kind == HolderKind::Oplock && held == LeaseState::R && plan(op, kind, held, false).remove.contains(LeaseState::R)
}

/// The plan for one holder holding `held`. `sharing_violation` is set when
/// an open fails its share-mode check: it then breaks only H of leases
/// (MS-FSA 2.1.5.1.2 OPEN_BREAK_H) and batch oplocks (broken as by any open
/// before the check), and is re-run once those breaks resolve; with nothing
/// to break it proceeds to fail with STATUS_SHARING_VIOLATION.
pub(crate) fn plan(op: Operation, kind: HolderKind, held: LeaseState, sharing_violation: bool) -> Plan {
    match op {
        Operation::Open { access, truncate, .. } => {
            if sharing_violation && !held.contains(LeaseState::H) {
                Plan::NOTHING
            } else if sharing_violation && kind == HolderKind::Lease {
                Plan::REMOVE_H_WAIT
            } else if truncate {
                // The overwrite changes the data whatever access it asked
                // for: a stat open that truncates breaks as one that writes
                // (smbtorture smb2.oplock.exclusive5, batch13, batch14).
                Plan::REMOVE_RW
            } else if is_stat_open(access, kind) {
                Plan::NOTHING
            } else {
                Plan::REMOVE_W
            }
        }
        Operation::Read | Operation::Flush => Plan::REMOVE_W,
        Operation::Write | Operation::Lock | Operation::SetEndOfFile => Plan::REMOVE_RW,
        // Rename and delete wait for H; link and set security do not
        // (docs/LEASES.md "Ack required").
        Operation::Rename | Operation::Delete => Plan::REMOVE_H_WAIT,
        Operation::Link => Plan::REMOVE_H,
        // MS-FSA 2.1.4.12 SET_SECURITY only touches HANDLE_CACHING, which
        // classic oplocks do not have.
        Operation::SetSecurity => match kind {
            HolderKind::Lease => Plan::REMOVE_H,
            HolderKind::Oplock => Plan::NOTHING,
        },
        // Directories never hold classic oplocks (MS-SMB2 3.3.5.9: only
        // leases on directories).
        Operation::ChildChange => match kind {
            HolderKind::Lease => Plan::REMOVE_RW_WAIT_H,
            HolderKind::Oplock => Plan::NOTHING,
        },
    }
}
