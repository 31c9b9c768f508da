//! Ending a session: what LOGOFF (MS-SMB2 3.3.5.6), a failed
//! re-authentication (3.3.5.5.3), a PreviousSessionId naming the session
//! (3.3.5.5.3) and a dropped connection share. Its opens are closed, except
//! durable ones, which wait for their client to reconnect (MS-SMB2 3.3.5.6,
//! 3.3.7.1; `smb/durable.rs`); its trees go with it, and its SessionId
//! answers STATUS_USER_SESSION_DELETED from then on.

use std::time::Instant;

use super::conn::{Session, SmbConnection};
use super::durable;
use crate::common::Core;
use crate::smb::SmbShared;

/// Removes session `sid` of `conn` from the connection and the global
/// table and closes its opens (durable ones are kept); returns it (LOGOFF signs its response with
/// its key), or `None` when there was no such session.
pub fn log_off(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, sid: u64, now: Instant) -> Option<Session> {
    let mut session = conn.sessions.remove(&sid)?;
    if smb.sessions.get(&sid).is_some_and(|r| r.conn == conn.id) {
        smb.sessions.remove(&sid);
    }
    for (_, o) in std::mem::take(&mut session.opens) {
        durable::disconnect(core, smb, o, now);
    }
    session.trees.clear();
    session.pipes.clear();
    tracing::debug!(conn = conn.id.0, session = sid, "session logged off");
    Some(session)
}

/// Every session of a connection that went away.
pub fn log_off_all(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, now: Instant) {
    let ids: Vec<u64> = conn.sessions.keys().copied().collect();
    for sid in ids {
        log_off(core, smb, conn, sid, now);
    }
}
