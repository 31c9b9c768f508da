//! An SMB2 lease (MS-SMB2 3.3.1.12): owned by (ClientGuid, LeaseKey), bound
//! to one file, shared by every open made under the key.

use super::open::{FileKey, OpenId};
use super::state::{Caching, LeaseState};

/// MS-SMB2 2.2.3 ClientGuid of the connection(s) that own a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClientGuid(pub [u8; 16]);

/// MS-SMB2 2.2.13.2.8 LeaseKey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LeaseKey(pub [u8; 16]);

/// The owner of a lease: leases are not tied to a connection or session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaseOwner {
    /// The ClientGuid of the client's connections.
    pub client_guid: ClientGuid,
    /// The client-chosen LeaseKey.
    pub key: LeaseKey,
}

/// The create context the lease was made with; a lease answers in it for
/// its whole life (docs/LEASES.md "Versions and epochs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LeaseVersion {
    /// SMB2_CREATE_REQUEST_LEASE (32 bytes, no epoch).
    V1,
    /// SMB2_CREATE_REQUEST_LEASE_V2 (52 bytes, epoch and parent key).
    V2,
}

/// A lease on one file.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub file: FileKey,
    pub caching: Caching,
    /// Lease.Epoch (v2 only; kept at 0 for v1).
    pub epoch: u16,
    pub version: LeaseVersion,
    pub parent_key: Option<[u8; 16]>,
    pub is_directory: bool,
    /// Lease.LeaseOpens in the order they were added.
    pub opens: Vec<OpenId>,
    /// Tells this grant from a later one under the same key (after the last
    /// close freed it, or an upgrade): a parked operation waits on the
    /// grant it met only.
    pub serial: u64,
}

impl Lease {
    /// Epoch +1 for a v2 lease (each upgrade and each break notification).
    pub fn bump_epoch(&mut self) {
        if self.version == LeaseVersion::V2 {
            self.epoch = self.epoch.wrapping_add(1);
        }
    }

    /// The NewEpoch of a notification: 0 for v1 (MS-SMB2 3.3.4.7).
    pub fn notification_epoch(&self) -> u16 {
        match self.version {
            LeaseVersion::V1 => 0,
            LeaseVersion::V2 => self.epoch,
        }
    }
}

/// What the table tells about a lease (for the protocol layer and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    /// The file the lease is bound to.
    pub file: FileKey,
    /// Caching held now (Lease.LeaseState).
    pub state: LeaseState,
    /// A break was sent and its acknowledgment is awaited (Lease.Breaking).
    pub breaking: bool,
    /// The state announced by the pending break (meaningful when breaking).
    pub break_to: LeaseState,
    /// Lease.Epoch: +1 on each upgrade and break notification (v2; 0 for v1).
    pub epoch: u16,
    /// The create context format the lease answers in.
    pub version: LeaseVersion,
    /// The v2 ParentLeaseKey, if the client gave one.
    pub parent_key: Option<[u8; 16]>,
    /// Opens made under the lease (Lease.LeaseOpens); the last to close frees
    /// it.
    pub open_count: usize,
}

impl LeaseInfo {
    pub(crate) fn of(l: &Lease) -> Self {
        Self {
            file: l.file,
            state: l.caching.state,
            breaking: l.caching.breaking,
            break_to: l.caching.break_to,
            epoch: l.epoch,
            version: l.version,
            parent_key: l.parent_key,
            open_count: l.opens.len(),
        }
    }
}
