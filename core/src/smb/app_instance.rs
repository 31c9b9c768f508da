//! Application instances (MS-SMB2 3.3.5.9.13, Open.AppInstanceId): an
//! application that moves to another client (a failover) opens its files
//! again with the same AppInstanceId; the server closes the old opens of
//! that instance (3.3.4.17) instead of breaking their caching.
//!
//! The old open lives on another connection: one preserved (its client
//! gone, `smb/durable.rs`) is closed at once; a live one is closed by the
//! settle loop ([`SmbShared::take_forced_closes`]), the CREATE parked until
//! then and run again.

use std::time::Instant;

use super::SmbShared;
use super::app_instances::ForcedClose;
use super::conn::SmbConnection;
use super::durable_opens::Place;
use crate::common::Core;
use crate::id::WaitToken;
use crate::lease::OpenId;

/// Closes the old opens of the instance: a preserved one at once; for a
/// live one, queues its close for the settle loop and answers `true`: the
/// CREATE waits (`then`) and runs again.
pub fn close_others(
    core: &mut Core,
    smb: &mut SmbShared,
    others: &[(OpenId, u64)],
    then: WaitToken,
    now: Instant,
) -> bool {
    let mut wait = false;
    for &(open, persistent) in others {
        let preserved = smb.durable.get(persistent).is_some_and(|d| matches!(d.place, Place::Preserved(_)));
        if preserved {
            if let Some(d) = smb.durable.forget(persistent)
                && let Place::Preserved(o) = d.place
            {
                tracing::debug!(persistent, "app instance: preserved open closed");
                crate::smb::release::release_open(core, smb, *o, now);
            }
            continue;
        }
        if let Some(r) = smb.open_refs.get(&open).copied() {
            smb.forced_closes.push(ForcedClose {
                open,
                conn: r.conn,
                session_id: r.session_id,
                volatile: r.file_id.volatile,
                then,
            });
            wait = true;
        }
    }
    wait
}

/// The settle loop's half of [`close_others`]: closes the open on its
/// connection (3.3.4.17), as a CLOSE would, without a response.
pub fn force_close(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, f: ForcedClose, now: Instant) {
    let Some(open) = smb.sessions.get_mut(&f.session_id).and_then(|s| s.opens.remove(&f.volatile)) else {
        // Gone meanwhile: it matches no CREATE again, so the one that
        // waits runs to its end.
        smb.app_instances.remove(f.open);
        return;
    };
    tracing::debug!(conn = conn.id.0, volatile = f.volatile, "app instance: open closed");
    let waiting = crate::smb::change_notify::open_closed(smb, open.file_id.volatile);
    crate::smb::release::release_open(core, smb, open, now);
    for op in waiting {
        crate::smb::send::complete_pending(core, smb, conn, op, crate::smb::status::NOTIFY_CLEANUP);
    }
}
