//! Caching granted on SMB CREATE: leases (MS-SMB2 3.3.5.9.8, 3.3.5.9.11)
//! and classic oplocks (MS-FSA 2.1.5.18), docs/LEASES.md "Grantable states".

use std::time::Instant;

use super::LeaseTable;
use crate::lease::breaks::{HolderKind, is_stat_open};
use crate::lease::lease::{ClientGuid, Lease, LeaseKey, LeaseOwner, LeaseVersion};
use crate::lease::open::{FileKey, OpenId};
use crate::lease::oplock::OplockLevel;
use crate::lease::state::{Caching, LeaseState};
use crate::lease::waiters::Holder;

/// MS-SMB2 2.2.13.2.10 SMB2_LEASE_FLAG_BREAK_IN_PROGRESS.
pub const LEASE_FLAG_BREAK_IN_PROGRESS: u32 = 0x0000_0002;
/// MS-SMB2 2.2.13.2.10 SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET (v2 only).
pub const LEASE_FLAG_PARENT_LEASE_KEY_SET: u32 = 0x0000_0004;

/// What an SMB CREATE asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRequest {
    /// No oplock and no lease.
    None,
    /// RequestedOplockLevel II, EXCLUSIVE or BATCH.
    Oplock(OplockLevel),
    /// RequestedOplockLevel LEASE with an RqLs context.
    Lease {
        /// The ClientGuid of the connection.
        client_guid: ClientGuid,
        /// The LeaseKey of the create context.
        key: LeaseKey,
        /// The LeaseState asked for; at most its grantable part is granted
        /// ([`LeaseState::grantable`]).
        requested: LeaseState,
        /// The create context format asked in.
        version: LeaseVersion,
        /// The client's epoch (v2; ignored for v1).
        epoch: u16,
        /// ParentLeaseKey (v2 only; dropped for v1).
        parent_key: Option<[u8; 16]>,
        /// The open is of a directory: at most RH, and only with directory
        /// leasing on.
        is_directory: bool,
    },
}

/// What the CREATE response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// No oplock and no lease.
    None,
    /// The oplock level granted (possibly below the one asked for).
    Oplock(OplockLevel),
    /// A lease: what the response's lease context carries.
    Lease {
        /// The lease's state now, shared by every open under the key.
        state: LeaseState,
        /// The epoch to answer with (0 for v1).
        epoch: u16,
        /// LEASE_FLAG_* bits of the response context.
        flags: u32,
        /// The format to answer in: the lease's own, whatever was asked.
        version: LeaseVersion,
        /// The lease's ParentLeaseKey (v2), sent with
        /// SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET.
        parent_key: Option<[u8; 16]>,
    },
}

/// Why [`LeaseTable::grant`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// STATUS_INVALID_PARAMETER: the lease key is in use on another file.
    #[error("lease key in use on another file")]
    InvalidParameter,
    /// The open is not in the table.
    #[error("unknown open")]
    UnknownOpen,
}

impl LeaseTable {
    /// Grants caching to `open` (already added with
    /// [`LeaseTable::add_open`], after `begin(Operation::Open)` let it
    /// proceed).
    pub fn grant(
        &mut self,
        file: FileKey,
        open: OpenId,
        request: GrantRequest,
        now: Instant,
    ) -> Result<Grant, GrantError> {
        if !self.opens.contains_key(&open) {
            return Err(GrantError::UnknownOpen);
        }
        // A second grant for the same open replaces the first (keeping the
        // lease if it is the same one).
        let same_lease = match request {
            GrantRequest::Lease { client_guid, key, .. } => {
                self.open_lease.get(&open) == Some(&LeaseOwner { client_guid, key })
            }
            _ => false,
        };
        if !same_lease {
            self.drop_caching(open);
            self.release(now);
        }
        let grant = match request {
            GrantRequest::None => Grant::None,
            GrantRequest::Oplock(level) => Grant::Oplock(self.grant_oplock(file, open, level)),
            GrantRequest::Lease { client_guid, key, requested, version, epoch, parent_key, is_directory } => {
                let owner = LeaseOwner { client_guid, key };
                self.grant_lease(file, open, owner, requested, version, epoch, parent_key, is_directory)?
            }
        };
        let caching = match grant {
            Grant::None => false,
            Grant::Oplock(level) => level != OplockLevel::None,
            Grant::Lease { state, .. } => !state.is_none(),
        };
        self.counters.leases_granted += u64::from(caching);
        Ok(grant)
    }

    /// Holders on `file` other than `except`, with some caching or a break
    /// in progress.
    fn active_others(&self, file: FileKey, except: Holder) -> Vec<(Holder, Caching)> {
        self.holders_on(file)
            .into_iter()
            .filter(|(h, _)| *h != except)
            .filter_map(|(h, _)| {
                let c = match h {
                    Holder::Lease(o) => self.leases.get(&o).map(|l| l.caching),
                    Holder::Oplock(id) => self.oplocks.get(&id).copied(),
                }?;
                (!c.state.is_none() || c.breaking).then_some((h, c))
            })
            .collect()
    }

    /// Is there a non-stat open on `file` that is not `open` and not mine?
    fn other_data_open(&self, file: FileKey, open: OpenId, mine: Option<LeaseOwner>) -> bool {
        self.opens_on(file).any(|(id, e)| {
            id != open
                && (mine.is_none() || self.open_lease.get(&id) != mine.as_ref())
                && !is_stat_open(e.access, HolderKind::Lease)
        })
    }

    /// The most a lease `owner` may hold on `file` now: W only with no other
    /// data open and no other caching; H unless an oplock is there (the
    /// lease then gets R); nothing while another holder keeps W.
    fn lease_cap(&self, file: FileKey, owner: LeaseOwner, open: OpenId) -> LeaseState {
        let others = self.active_others(file, Holder::Lease(owner));
        if others.iter().any(|(_, c)| c.state.contains(LeaseState::W)) {
            return LeaseState::NONE;
        }
        if others.is_empty() && !self.other_data_open(file, open, Some(owner)) {
            LeaseState::RWH
        } else if others.iter().any(|(h, _)| matches!(h, Holder::Oplock(_))) {
            LeaseState::R
        } else {
            LeaseState::RH
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn grant_lease(
        &mut self,
        file: FileKey,
        open: OpenId,
        owner: LeaseOwner,
        requested: LeaseState,
        version: LeaseVersion,
        client_epoch: u16,
        parent_key: Option<[u8; 16]>,
        is_directory: bool,
    ) -> Result<Grant, GrantError> {
        let directory_leasing = self.directory_leasing;
        if let Some(l) = self.leases.get(&owner) {
            if l.file != file {
                return Err(GrantError::InvalidParameter);
            }
            let (state, breaking, is_dir) = (l.caching.state, l.caching.breaking, l.is_directory);
            let wanted = requested.grantable(is_dir, directory_leasing);
            // MS-SMB2 3.3.5.9.8: promote only to a strict superset that can
            // be held as a whole alongside the others, never while
            // breaking; never reduce (smbtorture smb2.lease.upgrade3).
            let upgrade = if !breaking && wanted.is_strict_superset_of(state) {
                wanted.is_subset_of(self.lease_cap(file, owner, open)).then_some(wanted)
            } else {
                None
            };
            let serial = if upgrade.is_some() { self.next_serial() } else { 0 };
            let Some(l) = self.leases.get_mut(&owner) else { return Err(GrantError::InvalidParameter) };
            if let Some(new) = upgrade {
                l.caching.state = new;
                l.bump_epoch();
                // An upgrade means every earlier break completed: waiters
                // parked on those are answered by them, not by this grant.
                l.serial = serial;
            }
            if !l.opens.contains(&open) {
                l.opens.push(open);
            }
            self.open_lease.insert(open, owner);
            return Ok(lease_grant(l, breaking));
        }
        let wanted = requested.grantable(is_directory, directory_leasing);
        let granted = wanted.intersect(self.lease_cap(file, owner, open)).normalized();
        let epoch = match version {
            LeaseVersion::V1 => 0,
            // A new grant answers epoch + 1; nothing granted echoes it.
            LeaseVersion::V2 if granted.is_none() => client_epoch,
            LeaseVersion::V2 => client_epoch.wrapping_add(1),
        };
        let lease = Lease {
            file,
            caching: Caching::held(granted),
            epoch,
            version,
            parent_key: if version == LeaseVersion::V2 { parent_key } else { None },
            is_directory,
            opens: vec![open],
            serial: self.next_serial(),
        };
        let g = lease_grant(&lease, false);
        self.leases.insert(owner, lease);
        if is_directory {
            self.directory_leases.insert(owner);
        }
        self.leases_on.entry(file).or_default().insert(owner);
        self.open_lease.insert(open, owner);
        Ok(g)
    }

    /// MS-FSA 2.1.5.17: exclusive and batch only for the sole open with no
    /// other caching; otherwise level II unless another holder keeps H or W
    /// (a lease with RH leaves the requester NONE).
    fn grant_oplock(&mut self, file: FileKey, open: OpenId, level: OplockLevel) -> OplockLevel {
        let others = self.active_others(file, Holder::Oplock(open));
        let granted = match level {
            OplockLevel::None => OplockLevel::None,
            OplockLevel::Exclusive | OplockLevel::Batch
                if others.is_empty() && !self.other_data_open(file, open, None) =>
            {
                level
            }
            _ if others.iter().any(|(_, c)| c.state.intersects(LeaseState::W.union(LeaseState::H))) => {
                OplockLevel::None
            }
            _ => OplockLevel::II,
        };
        if granted == OplockLevel::None {
            self.oplocks.remove(&open);
        } else {
            self.oplocks.insert(open, Caching::held(granted.state()));
        }
        granted
    }
}

fn lease_grant(l: &Lease, breaking: bool) -> Grant {
    let mut flags = 0;
    if breaking {
        flags |= LEASE_FLAG_BREAK_IN_PROGRESS;
    }
    if l.parent_key.is_some() {
        flags |= LEASE_FLAG_PARENT_LEASE_KEY_SET;
    }
    Grant::Lease { state: l.caching.state, epoch: l.epoch, flags, version: l.version, parent_key: l.parent_key }
}
