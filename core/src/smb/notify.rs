//! Break notifications on the wire (MS-SMB2 3.3.4.6 oplock, 3.3.4.7 lease):
//! drains the lease table's queue, whoever caused the breaks (an SMB
//! request, an NFS call, a timeout, an ack, a disconnect). The server calls
//! [`flush`] before queueing any response, so a notification always goes
//! out before the response of the operation that caused it.

use super::wire::header::{FLAG_SERVER_TO_REDIR, Header, command};
use super::wire::oplock_break::{
    BREAK_NOTIFICATION_MESSAGE_ID, LeaseBreakNotification, OplockBreak, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
};
use crate::lease::BreakTarget;
use crate::server::{Core, Protocol};

/// Sends every queued break notification.
pub fn flush(core: &mut Core) {
    while let Some(n) = core.leases.poll_notification() {
        let mut body = Vec::new();
        let (conn, session_id) = match &n.target {
            BreakTarget::Lease { key, conns, .. } => {
                let Some(conn) = conns.iter().find(|c| core.smb.live.contains(c)).copied() else {
                    tracing::debug!(?n, "lease break with no live connection");
                    continue;
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
                let Some(r) = core.smb.open_refs.get(open).copied() else { continue };
                if !core.smb.live.contains(conn) {
                    continue;
                }
                let mut fid = Vec::with_capacity(16);
                r.file_id.encode(&mut fid);
                let mut file_id = [0u8; 16];
                if let Some(dst) = file_id.get_mut(..fid.len()) {
                    dst.copy_from_slice(&fid);
                }
                OplockBreak { level: *level, file_id }.encode(&mut body);
                (*conn, r.session_id)
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
        core.push_frame(conn, Protocol::Smb, &msg);
    }
}
