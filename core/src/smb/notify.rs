//! Break notifications on the wire (MS-SMB2 3.3.4.6 oplock, 3.3.4.7 lease),
//! whoever caused the breaks (an SMB request, an NFS call, a timeout, an
//! ack, a disconnect). The server's settle loop takes them from the lease
//! table and puts each where it belongs: ahead of the response of the
//! operation that caused it.

use super::SmbShared;
use super::wire::header::{FLAG_SERVER_TO_REDIR, Header, command};
use super::wire::oplock_break::{
    BREAK_NOTIFICATION_MESSAGE_ID, LeaseBreakNotification, OplockBreak, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
};
use crate::id::ConnId;
use crate::lease::{BreakNotification, BreakTarget};

/// The message that tells its holder about break `n`, and the connection it
/// goes to (the oldest live connection of the lease's ClientGuid; for an
/// oplock the connection it was granted on, or when that is gone another
/// channel of the open's session, MS-SMB2 3.3.4.6):
/// `None` when no live connection is left to tell.
pub fn encode(smb: &SmbShared, n: &BreakNotification) -> Option<(ConnId, Vec<u8>)> {
    let mut body = Vec::new();
    let (conn, session_id) = match &n.target {
        BreakTarget::Lease { client_guid, key, conns, .. } => {
            // MS-SMB2 3.3.4.7: the first available connection of the
            // ClientGuid, whichever one the lease's opens came in on
            // (smbtorture smb2.lease.v2_complex1); else one with an open.
            let first = smb.client_guids.iter().find(|(c, g)| **g == client_guid.0 && smb.live.contains(c));
            let Some(conn) = first.map(|(c, _)| *c).or_else(|| conns.iter().find(|c| smb.live.contains(c)).copied())
            else {
                tracing::debug!(?n, "lease break with no live connection");
                return None;
            };
            let flags = if n.ack_required { SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED } else { 0 };
            LeaseBreakNotification {
                new_epoch: n.epoch,
                flags,
                key: key.0,
                current_state: n.current.bits(),
                new_state: n.new.bits(),
            }
            .encode(&mut body);
            (conn, 0)
        }
        BreakTarget::Oplock { open, conn, level } => {
            let r = smb.open_refs.get(open).copied()?;
            let session = smb.sessions.get(&r.session_id);
            let conn = match smb.live.contains(conn) && session.is_some_and(|s| s.on(*conn)) {
                true => *conn,
                false => {
                    let channels = session.map(|s| s.channels.keys().copied().collect::<Vec<_>>()).unwrap_or_default();
                    channels.into_iter().find(|c| smb.live.contains(c) && session.is_some_and(|s| s.on(*c)))?
                }
            };
            let mut fid = Vec::with_capacity(16);
            r.file_id.encode(&mut fid);
            let mut file_id = [0u8; 16];
            if let Some(dst) = file_id.get_mut(..fid.len()) {
                dst.copy_from_slice(&fid);
            }
            OplockBreak { level: *level, file_id }.encode(&mut body);
            (conn, r.session_id)
        }
    };
    let h = Header {
        command: command::OPLOCK_BREAK,
        flags: FLAG_SERVER_TO_REDIR,
        message_id: BREAK_NOTIFICATION_MESSAGE_ID,
        session_id,
        ..Default::default()
    };
    let mut msg = Vec::with_capacity(64 + body.len());
    h.encode(&mut msg);
    msg.extend_from_slice(&body);
    tracing::debug!(conn = conn.0, target = ?n.target, current = %n.current, new = %n.new, "break sent");
    Some((conn, msg))
}
