//! Protocol-neutral lease and oplock manager: opens with their share modes,
//! SMB2 leases and classic oplocks, break planning, the operations waiting on
//! breaks and byte-range locks. Keyed by the file identity the Vfs gives.
//! SMB and NFS both describe what they are about to do here ([`LeaseTable::begin`]);
//! cross-protocol is not a special case. No wire formats: the SMB layer
//! encodes [`BreakNotification`]s, NFS calls in as [`Caller::Nobody`].
//!
//! Driving it: call `begin` before an operation; on [`Decision::Wait`] park
//! the operation under its WaitToken. The table is a state machine of its
//! own: it keeps its break deadlines ([`LeaseTable::poll_timeout`],
//! [`LeaseTable::handle_timeout`]) and hands out one stream of events
//! ([`LeaseTable::poll_event`]): notifications to send and parked operations
//! to re-run from scratch. It never sees the server, a protocol or a clock.

mod breaks;
#[allow(clippy::module_inception)]
mod lease;
mod locks;
mod open;
mod oplock;
mod preserved;
mod state;
mod table;
mod waiters;

pub use breaks::{BreakNotification, BreakTarget, Caller, Decision, Operation};
pub use lease::{ClientGuid, LeaseInfo, LeaseKey, LeaseOwner, LeaseVersion};
pub use locks::{ByteRangeLock, LockConflict, LockError, MAX_LOCKS_PER_FILE, UnlockError};
pub use open::{FileKey, OpenEntry, OpenId, SharingViolation, access, share, share_conflict};
pub use oplock::OplockLevel;
pub use state::LeaseState;
pub use table::grant::{
    Grant, GrantError, GrantRequest, LEASE_FLAG_BREAK_IN_PROGRESS, LEASE_FLAG_PARENT_LEASE_KEY_SET,
};
pub use table::{AckError, HolderId, HolderView, LeaseCounters, LeaseEvent, LeaseTable};
