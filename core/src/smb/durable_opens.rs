//! The durable and resilient opens of a server (MS-SMB2 3.3.1.10
//! Open.IsDurable, Open.IsResilient, Open.DurableOwner, Open.CreateGuid,
//! GlobalOpenTable by FileId.Persistent):
//! live ones, and those preserved while their holder is away
//! (`smb/durable.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use super::lock_sequence::LockSequences;
use super::auth::Identity;
use super::conn::Open;
use crate::id::ConnId;
use crate::lease::OpenId;

/// Which context made an open durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurableVersion {
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST (DHnQ).
    V1,
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 (DH2Q) with its CreateGuid.
    V2 { create_guid: [u8; 16] },
    /// FSCTL_LMR_REQUEST_RESILIENCY (MS-SMB2 3.3.5.15.9): Open.IsResilient,
    /// Open.IsDurable false. Kept across a disconnect whatever its caching.
    Resilient,
}

impl DurableVersion {
    /// Open.CreateGuid: zeros (NULL) for a v1 open.
    pub fn create_guid(self) -> [u8; 16] {
        match self {
            DurableVersion::V1 | DurableVersion::Resilient => [0; 16],
            DurableVersion::V2 { create_guid } => create_guid,
        }
    }
}

/// Where a durable open is now.
#[derive(Debug, Clone)]
pub enum Place {
    /// In the OpenTable of this session of this connection.
    Live { conn: ConnId, session_id: u64 },
    /// Without a session, waiting for a reconnect.
    Preserved(Box<Open>),
}

/// What the server remembers of a durable open.
#[derive(Debug, Clone)]
pub struct Durable {
    pub version: DurableVersion,
    /// Open.ClientGuid: a lease reconnect must come from the same client.
    pub client_guid: [u8; 16],
    /// Open.DurableOwner: only this user may reconnect.
    pub owner: Option<Identity>,
    /// Open.DurableOpenTimeout.
    pub timeout: Duration,
    /// The name the open was made with (Lease.FileName, checked by a lease
    /// reconnect).
    pub name: String,
    pub place: Place,
    /// Open.LockSequenceArray (MS-SMB2 3.3.1.10): the LockSequenceNumber of
    /// the last LOCK done under each LockSequenceIndex 1..=64, if valid.
    pub lock_sequences: LockSequences,
}

/// Every durable open of the server, by FileId.Persistent.
#[derive(Debug, Default)]
pub struct DurableOpens {
    opens: BTreeMap<u64, Durable>,
    preserved: usize,
}

impl DurableOpens {
    /// Records a durable open just granted.
    pub fn insert(&mut self, persistent: u64, d: Durable) {
        self.forget(persistent);
        if matches!(d.place, Place::Preserved(_)) {
            self.preserved += 1;
        }
        self.opens.insert(persistent, d);
    }

    /// The open is closed: nothing is kept.
    pub fn forget(&mut self, persistent: u64) -> Option<Durable> {
        let d = self.opens.remove(&persistent)?;
        if matches!(d.place, Place::Preserved(_)) {
            self.preserved = self.preserved.saturating_sub(1);
        }
        Some(d)
    }

    pub fn get(&self, persistent: u64) -> Option<&Durable> {
        self.opens.get(&persistent)
    }

    /// MS-SMB2 3.3.5.14: was a LOCK with `lock_sequence` on durable open
    /// `persistent` already done (its reply lost with a connection)? A
    /// mismatch invalidates the entry.
    pub fn lock_replayed(&mut self, persistent: u64, lock_sequence: u32) -> bool {
        self.opens.get_mut(&persistent).is_some_and(|d| d.lock_sequences.replayed(lock_sequence))
    }

    /// A LOCK with `lock_sequence` succeeded on durable open `persistent`.
    pub fn lock_done(&mut self, persistent: u64, lock_sequence: u32) {
        if let Some(d) = self.opens.get_mut(&persistent) {
            d.lock_sequences.done(lock_sequence);
        }
    }

    /// Durable opens waiting for their holder.
    pub fn preserved(&self) -> usize {
        self.preserved
    }

    /// The durable open made by `client_guid` with `create_guid` (MS-SMB2
    /// 3.3.5.9.10: the replay lookup), with its FileId.Persistent.
    pub fn by_create_guid(&self, client_guid: [u8; 16], create_guid: [u8; 16]) -> Option<(u64, &Durable)> {
        let v2 = DurableVersion::V2 { create_guid };
        self.opens.iter().find(|(_, d)| d.client_guid == client_guid && d.version == v2).map(|(p, d)| (*p, d))
    }

    /// The FileId.Persistent of the preserved open whose lease-table open is
    /// `id`.
    pub fn preserved_with(&self, id: OpenId) -> Option<u64> {
        self.opens.iter().find_map(|(p, d)| match &d.place {
            Place::Preserved(o) if o.lease_open == id => Some(*p),
            _ => None,
        })
    }
}
