//! Durable opens (MS-SMB2 3.3.1.10 Open.IsDurable): which opens are durable,
//! what a lost connection or a LOGOFF does to them (MS-SMB2 3.3.7.1,
//! 3.3.5.6) and what is left to forget when the lease table gives one up.
//!
//! A durable open keeps its [`Open`] (FileId.Persistent, position, access,
//! delete-on-close) (`durable_opens.rs`) while it has no session; its share mode, lease or
//! oplock and byte-range locks stay in the lease table, which keeps its
//! deadline and closes it when that passes or when a conflict would break
//! its caching (`lease/table/durable.rs`). The CREATE side (grants,
//! reconnects, replays) is `handlers/durable.rs`.

use std::time::{Duration, Instant};

use super::SmbShared;
use super::conn::Open;
use super::durable_opens::{Durable, DurableVersion, Place};
use crate::common::Core;
use crate::lease::{LeaseState, OpenId, OplockLevel};

/// An open leaves its session without a CLOSE (the connection was lost,
/// MS-SMB2 3.3.7.1, or the session logged off, 3.3.5.6): a durable open
/// whose batch oplock or H lease is held (no break in progress), or a
/// resilient open, is kept for its timeout; every other open is closed.
pub fn disconnect(core: &mut Core, smb: &mut SmbShared, mut open: Open, now: Instant) {
    let persistent = open.file_id.persistent;
    match preservable(core, smb, &open) {
        Some(timeout) if core.leases.preserve(open.lease_open, now.checked_add(timeout).unwrap_or(now)) => {
            // The time settles as at a close (smbd does the same).
            crate::smb::write_time::closing(core, smb, &mut open, now);
            crate::smb::change_notify::open_released(smb, open.file_id.volatile);
            if let Some(mut d) = smb.durable.forget(persistent) {
                tracing::debug!(persistent, ?timeout, "durable open preserved");
                core.stats.durable_preserved += 1;
                d.place = Place::Preserved(Box::new(open));
                smb.durable.insert(persistent, d);
            }
        }
        _ => crate::smb::release::release_open(core, smb, open, now),
    }
}

/// The timeout to keep `open` for, if it is to be kept.
fn preservable(core: &Core, smb: &SmbShared, open: &Open) -> Option<Duration> {
    let d = smb.durable.get(open.file_id.persistent)?;
    if smb.durable.preserved() >= core.config.limits.max_preserved_opens {
        return None;
    }
    // A durable open marked delete-on-close waits like any other
    // (MS-SMB2 3.3.7.1 makes no exception; smbtorture
    // smb2.durable-open.delete_on_close2): the delete happens when it is
    // reconnected and closed, times out, or a conflict closes it.
    // MS-SMB2 3.3.7.1: a resilient open is kept whatever its caching.
    (d.version == DurableVersion::Resilient || handle_caching_held(core, open.lease_open)).then_some(d.timeout)
}

/// Does the open hold what durability rests on: a batch oplock, or a lease
/// with H, with no break in progress (MS-SMB2 3.3.5.9.6, 3.3.7.1
/// Open.OplockState Held)?
pub fn handle_caching_held(core: &Core, open: OpenId) -> bool {
    match core.leases.lease_of(open) {
        Some(owner) => core
            .leases
            .lease_info(owner.client_guid, owner.key)
            .is_some_and(|l| l.state.contains(LeaseState::H) && !l.breaking),
        None => core.leases.oplock_level(open) == OplockLevel::Batch && !core.leases.oplock_breaking(open),
    }
}

/// Forgets the SMB side of the preserved opens the lease table gave up
/// (timeout, or a conflict that would have broken their caching): the
/// server's settle loop calls it after every input.
pub fn reap(core: &mut Core, smb: &mut SmbShared, now: Instant) {
    for id in core.leases.take_purged() {
        let Some(persistent) = smb.durable.preserved_with(id) else { continue };
        if let Some(Durable { place: Place::Preserved(open), .. }) = smb.durable.forget(persistent) {
            tracing::debug!(persistent, "durable open given up");
            core.stats.durable_given_up += 1;
            crate::smb::release::release_open(core, smb, *open, now);
        }
    }
}
