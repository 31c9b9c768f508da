//! ECHO, CANCEL and CHANGE_NOTIFY (MS-SMB2 3.3.5.15-3.3.5.19); OPLOCK_BREAK
//! is in oplock_break.rs.

use std::time::Instant;

use crate::common::Core;
use crate::smb::conn::SmbConnection;
use crate::smb::ctx::{Ctx, HandlerResult, Outcome, ok_with};
use crate::smb::wire::codec::to_vec;
use crate::smb::watches::Watch;
use crate::smb::wire::change_notify::{
    WATCH_TREE, decode_change_notify, encode_change_notify_response, encode_notify_information,
};
use crate::vfs::FileType;

/// MS-SMB2 2.2.13.1.2 FILE_LIST_DIRECTORY (the directory form of READ_DATA).
const FILE_LIST_DIRECTORY: u32 = 0x0000_0001;
use crate::smb::send;
use crate::smb::status;
use crate::smb::wire::codec::structure_size;
use crate::smb::wire::header::Header;
use crate::smb::wire::session_setup::encode_empty_response;

pub fn echo(cx: &mut Ctx<'_>) -> HandlerResult {
    let body = cx.msg.get(64..).unwrap_or(&[]);
    structure_size(body, 4).map_err(|_| status::INVALID_PARAMETER)?;
    ok_with(encode_empty_response)
}

/// MS-SMB2 3.3.5.16: finds the pended request by AsyncId (async CANCEL) or
/// MessageId (sync CANCEL) and completes it with STATUS_CANCELLED. CANCEL
/// itself gets no response.
pub fn cancel(core: &mut Core, smb: &mut crate::smb::SmbShared, conn: &mut SmbConnection, hdr: &Header, _now: Instant) {
    let op = conn
        .pending
        .iter()
        .find(|(_, p)| match hdr.is_async() {
            true => p.async_id == hdr.async_id,
            false => p.header.message_id == hdr.message_id && p.header.session_id == hdr.session_id,
        })
        .map(|(op, _)| *op);
    if let Some(op) = op {
        send::complete_pending(core, smb, conn, op, status::CANCELLED);
    }
}

/// MS-SMB2 3.3.5.19: answers with the changes the open's watch collected,
/// or parks until there are some (smb::change_notify).
pub fn change_notify(cx: &mut Ctx<'_>) -> HandlerResult {
    let body = cx.msg.get(64..).unwrap_or(&[]);
    let req = decode_change_notify(body).map_err(|_| status::INVALID_PARAMETER)?;
    let fid = cx.file_id(req.file_id)?;
    let open = cx.open(fid)?;
    if open.kind != FileType::Directory {
        return Err(status::INVALID_PARAMETER);
    }
    if open.access & FILE_LIST_DIRECTORY == 0 {
        return Err(status::ACCESS_DENIED);
    }
    let dir = open.object;
    if cx.smb.files.get(&dir).is_some_and(|f| f.delete_pending) {
        return Err(status::DELETE_PENDING);
    }
    if req.output_buffer_length > cx.core.config.smb.max_transact_size {
        return Err(status::INVALID_PARAMETER);
    }
    let conn = cx.conn.id;
    let pending: Vec<u64> = cx.conn.pending.keys().copied().collect();
    let me = cx.op;
    let w = cx.smb.watches.0.entry(fid.volatile).or_insert_with(|| Watch::new(conn, dir));
    if w.max == u32::MAX {
        w.max = req.output_buffer_length;
    }
    let max = req.output_buffer_length.min(w.max) as usize;
    w.tree = req.flags & WATCH_TREE != 0;
    w.filter = req.completion_filter;
    // Requests cancelled or completed meanwhile wait no more.
    w.waiting.retain(|op| pending.contains(op) && Some(*op) != me);
    if w.overflow {
        w.overflow = false;
        w.changes.clear();
        return ok_status(status::NOTIFY_ENUM_DIR, to_vec(|b| encode_change_notify_response(&[], b)));
    }
    if !w.changes.is_empty() {
        let changes: Vec<(u32, String)> = w.changes.drain(..).collect();
        let mut buf = Vec::new();
        return match encode_notify_information(&changes, max, &mut buf) {
            true => ok_with(|b| encode_change_notify_response(&buf, b)),
            false => ok_status(status::NOTIFY_ENUM_DIR, to_vec(|b| encode_change_notify_response(&[], b))),
        };
    }
    let op = cx.op_id();
    if let Some(w) = cx.smb.watches.0.get_mut(&fid.volatile) {
        w.waiting.push(op);
    }
    Ok(Outcome::Pending)
}

fn ok_status(status: u32, body: Vec<u8>) -> HandlerResult {
    Ok(Outcome::Reply { status, body })
}
