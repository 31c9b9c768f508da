//! SMB2/3 server: wire codecs, connection/session/tree/open state, the
//! dispatcher and one handler module per command group.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::common::{Core, Flow};
use crate::id::ConnId;
use crate::time::TimerKey;

pub mod access;
pub mod app_instance;
pub mod app_instances;
pub mod auth;
pub mod change_notify;
pub mod cipher;
pub mod conn;
pub mod credits;
pub mod ctx;
pub mod dacl;
pub mod dispatch;
pub mod durable;
pub mod durable_opens;
pub mod fscc;
pub mod handlers;
pub mod kdf;
pub mod lease;
pub mod lock_sequence;
pub mod logoff;
pub mod notify;
pub mod pipe;
pub mod preauth;
pub mod reconfigure;
pub mod release;
pub mod seal;
mod send;
pub mod shared;
pub mod short_name;
pub mod snapshot;
pub mod signing;
pub mod status;
pub mod watches;
pub mod wire;
pub mod write_time;

#[cfg(test)]
mod tests;

pub use conn::SmbConnection;
pub use shared::SmbShared;

impl SmbConnection {
    /// A new connection: it must authenticate within
    /// `limits.unauthenticated_timeout`.
    pub fn new(core: &mut Core, smb: &mut SmbShared, id: ConnId, peer: SocketAddr, now: Instant) -> Self {
        core.timers.set(TimerKey::Unauthenticated(id), now + core.config.limits.unauthenticated_timeout);
        smb.live.insert(id);
        Self::with_id(id, peer)
    }
}

pub(crate) fn handle_frame(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    frame: Bytes,
    now: Instant,
) -> Flow {
    dispatch::handle_frame(core, smb, conn, frame, now)
}

/// A lone WRITE whose data came in pipes (see
/// [`crate::Server::handle_spliced_frame`]).
pub(crate) fn handle_spliced_frame(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    head: Bytes,
    data: crate::splice::PipedData,
    now: Instant,
) -> Flow {
    dispatch::handle_spliced_frame(core, smb, conn, head, data, now)
}

/// The connection is gone: its durable opens are preserved, the others
/// released (delete-on-close runs), and its pended requests dropped.
pub(crate) fn handle_closed(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, now: Instant) {
    smb.live.remove(&conn.id);
    smb.client_guids.remove(&conn.id);
    change_notify::conn_closed(smb, conn.id);
    for op in std::mem::take(&mut conn.pending).into_keys() {
        core.leases.cancel_waiter(crate::id::WaitToken { conn: conn.id, op });
    }
    logoff::conn_lost(core, smb, conn.id, now);
}

/// Closes an open of `conn` a CREATE of its application instance replaces
/// (the settle loop, [`SmbShared::take_forced_closes`]).
pub(crate) fn force_close(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    f: app_instances::ForcedClose,
    now: Instant,
) {
    app_instance::force_close(core, smb, conn, f, now);
}

pub(crate) fn resume(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, op: u64, now: Instant) -> Flow {
    dispatch::resume(core, smb, conn, op, now)
}

/// A break notification for `conn`, sealed when its session requires
/// encryption (MS-SMB2 3.3.4.6, 3.3.4.7 via 3.3.4.1.4; a lease break with
/// the key of a session holding one of the lease's opens, see
/// [`seal::unsolicited_seal`]); None when it must be sealed and cannot be
/// (its session's nonces are spent).
pub(crate) fn seal_unsolicited(
    smb: &mut SmbShared,
    conn: ConnId,
    msg: Vec<u8>,
    target: &crate::lease::BreakTarget,
) -> Option<Vec<u8>> {
    let session_id = wire::codec::u64_at(&msg, 40).unwrap_or_default();
    let lease_opens = match target {
        crate::lease::BreakTarget::Lease { opens, .. } => opens.as_slice(),
        crate::lease::BreakTarget::Oplock { .. } => &[],
    };
    match seal::unsolicited_seal(smb, conn, session_id, lease_opens) {
        Some(s) => s.to_vec(&msg),
        None => Some(msg),
    }
}

/// Completes a parked request with `status` (the settle loop's cleanups).
pub(crate) fn complete(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, op: u64, status: u32) {
    send::complete_pending(core, smb, conn, op, status);
}
