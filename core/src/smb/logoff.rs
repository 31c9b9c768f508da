//! Ending a session: what LOGOFF (MS-SMB2 3.3.5.6), a failed
//! re-authentication (3.3.5.5.3), a PreviousSessionId naming the session
//! (3.3.5.5.3) and a dropped connection share. Its opens are closed, except
//! durable ones, which wait for their client to reconnect (MS-SMB2 3.3.5.6,
//! 3.3.7.1; `smb/durable.rs`); its trees go with it, and its SessionId
//! answers STATUS_USER_SESSION_DELETED from then on.

use std::time::Instant;

use super::conn::Session;
use super::durable;
use crate::common::Core;
use crate::id::ConnId;
use crate::smb::SmbShared;

/// Removes session `sid` from the global table, on every channel, and
/// closes its opens (durable ones are kept); returns it (LOGOFF signs its
/// response with its key), or `None` when there was no such session.
pub fn log_off(core: &mut Core, smb: &mut SmbShared, sid: u64, now: Instant) -> Option<Session> {
    let mut session = smb.sessions.remove(&sid)?;
    for (_, o) in std::mem::take(&mut session.opens) {
        durable::disconnect(core, smb, o, now);
    }
    session.trees.clear();
    session.pipes.clear();
    tracing::debug!(conn = session.conn.0, session = sid, "session logged off");
    Some(session)
}

/// A connection went away: it is no longer a channel of any session
/// (MS-SMB2 3.3.7.1). A session ends with its last channel; one still
/// bound elsewhere goes on there, with its trees and opens.
pub fn conn_lost(core: &mut Core, smb: &mut SmbShared, conn: ConnId, now: Instant) {
    for sid in smb.sessions_of(conn) {
        let Some(s) = smb.sessions.get_mut(&sid) else { continue };
        s.channels.remove(&conn);
        let left = s.channels.iter().find(|(_, c)| c.binding.is_none()).map(|(id, _)| *id);
        match left {
            Some(other) if s.valid => {
                if s.conn == conn {
                    s.conn = other;
                }
                tracing::debug!(conn = conn.0, session = sid, "channel lost; session goes on");
            }
            _ => {
                log_off(core, smb, sid, now);
            }
        }
    }
}
