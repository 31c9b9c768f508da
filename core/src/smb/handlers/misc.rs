//! ECHO, CANCEL and CHANGE_NOTIFY (MS-SMB2 3.3.5.15-3.3.5.19); OPLOCK_BREAK
//! is in oplock_break.rs.

use std::time::Instant;

use crate::server::Core;
use crate::smb::conn::SmbConnection;
use crate::smb::ctx::{Ctx, HandlerResult, ok};
use crate::smb::dispatch;
use crate::smb::status;
use crate::smb::wire::codec::structure_size;
use crate::smb::wire::header::Header;
use crate::smb::wire::session_setup::encode_empty_response;

pub fn echo(cx: &mut Ctx<'_>) -> HandlerResult {
    let body = cx.msg.get(64..).unwrap_or(&[]);
    structure_size(body, 4).map_err(|_| status::INVALID_PARAMETER)?;
    ok(encode_empty_response())
}

/// MS-SMB2 3.3.5.16: finds the pended request by AsyncId (async CANCEL) or
/// MessageId (sync CANCEL) and completes it with STATUS_CANCELLED. CANCEL
/// itself gets no response.
pub fn cancel(core: &mut Core, conn: &mut SmbConnection, hdr: &Header, _now: Instant) {
    let op = conn
        .pending
        .iter()
        .find(|(_, p)| match hdr.is_async() {
            true => p.async_id == hdr.async_id,
            false => p.header.message_id == hdr.message_id && p.header.session_id == hdr.session_id,
        })
        .map(|(op, _)| *op);
    if let Some(op) = op {
        dispatch::complete_pending(core, conn, op, status::CANCELLED);
    }
}

/// Directory change notifications are not implemented.
pub fn change_notify(cx: &mut Ctx<'_>) -> HandlerResult {
    cx.tree()?;
    Err(status::NOT_SUPPORTED)
}
