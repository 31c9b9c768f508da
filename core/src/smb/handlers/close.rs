//! CLOSE (MS-SMB2 3.3.5.10) and the release of an open that CLOSE, LOGOFF,
//! TREE_DISCONNECT and a dropped connection share: share-mode entry, name
//! bookkeeping and delete-on-close (MS-FSA 2.1.5.4).

use crate::vfs::Vfs;
use std::time::Instant;

use super::create::network_open_info;
use crate::common::Core;
use crate::smb::SmbShared;
use crate::smb::conn::Open;
use crate::smb::ctx::{Ctx, HandlerResult, ok};
use crate::smb::pipe::handlers as pipe;
use crate::smb::status;
use crate::smb::wire::create::*;
use crate::vfs::FileType;

/// Forgets `open`; deletes the file when it was the last open of a file
/// marked delete-pending.
pub fn release_open(core: &mut Core, smb: &mut SmbShared, open: Open, now: Instant) {
    // Its watch ends with it (a CLOSE completes the waiting requests itself).
    crate::smb::change_notify::open_released(smb, open.file_id.volatile);
    // close_open: released waiters are timed at `now`, not at the last call.
    core.leases.close_open(open.lease_open, now);
    smb.open_refs.remove(&open.lease_open);
    if open.delete_on_close {
        if let Some(f) = smb.files.get_mut(&open.object) {
            f.delete_pending = true;
        }
        crate::smb::change_notify::delete_pending(smb, open.object);
    }
    let Some(f) = smb.remove_open(open.object) else { return };
    if !f.delete_pending || f.name.is_empty() {
        return;
    }
    let wall = core.wall(now);
    let r = match (f.is_stream, open.kind) {
        (true, _) => core.vfs.remove_stream(f.parent, &f.name, wall),
        (false, FileType::Directory) => core.vfs.rmdir(f.parent, &f.name, wall),
        (false, _) => core.vfs.remove(f.parent, &f.name, wall),
    };
    if let Err(e) = r {
        tracing::info!(name = %f.name, error = %e, "delete on close failed");
    }
}

pub fn close(cx: &mut Ctx<'_>) -> HandlerResult {
    let (flags, fid) = decode_close(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    if let Some(fid) = pipe::lookup(cx, fid) {
        return pipe::close(cx, fid);
    }
    let fid = cx.open(fid)?.file_id;
    let open = cx.session()?.opens.remove(&fid.volatile).ok_or(status::FILE_CLOSED)?;
    let info = match flags & CLOSE_FLAG_POSTQUERY_ATTRIB != 0 {
        true => cx.core.vfs.getattr(open.object).ok().map(|a| network_open_info(&a)),
        false => None,
    };
    // MS-SMB2 3.3.5.10: requests still watching the directory complete with
    // STATUS_NOTIFY_CLEANUP.
    let waiting = crate::smb::change_notify::open_closed(cx.smb, open.file_id.volatile);
    release_open(cx.core, cx.smb, open, cx.now);
    for op in waiting {
        crate::smb::dispatch::complete_pending(cx.core, cx.conn, op, status::NOTIFY_CLEANUP);
    }
    ok(encode_close_response(info.as_ref()))
}
