//! CLOSE (MS-SMB2 3.3.5.10). The release of the open itself (share-mode
//! entry, name bookkeeping, delete-on-close) is `smb::release`, which
//! LOGOFF, TREE_DISCONNECT and a dropped connection share.

use crate::vfs::Vfs;

use super::create::network_open_info;
use crate::smb::ctx::{Ctx, HandlerResult, ok_with};
use crate::smb::pipe::handlers as pipe;
use crate::smb::release::release_open;
use crate::smb::status;
use crate::smb::wire::create::*;

pub fn close(cx: &mut Ctx<'_>) -> HandlerResult {
    let (flags, fid) = decode_close(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    if let Some(fid) = pipe::lookup(cx, fid) {
        return pipe::close(cx, fid);
    }
    let fid = cx.open(fid)?.file_id;
    let mut open = cx.session()?.opens.remove(&fid.volatile).ok_or(status::FILE_CLOSED)?;
    // The attributes returned carry the time the close sets.
    crate::smb::write_time::closing(cx.core, cx.smb, &mut open, cx.now);
    let info = match flags & CLOSE_FLAG_POSTQUERY_ATTRIB != 0 {
        true => cx.core.vfs.getattr(open.object).ok().map(|a| network_open_info(&cx.smb.with_allocation(a))),
        false => None,
    };
    // MS-SMB2 3.3.5.10: requests still watching the directory complete with
    // STATUS_NOTIFY_CLEANUP.
    let waiting = crate::smb::change_notify::open_closed(cx.smb, open.file_id.volatile);
    release_open(cx.core, cx.smb, open, cx.now);
    for op in waiting {
        crate::smb::send::complete_pending(cx.core, cx.smb, cx.conn, op, status::NOTIFY_CLEANUP);
    }
    ok_with(|b| encode_close_response(info.as_ref(), b))
}
