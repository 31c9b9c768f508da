//! TREE_CONNECT and TREE_DISCONNECT (MS-SMB2 3.3.5.7, 3.3.5.8).

use crate::config::Share;
use crate::smb::conn::{Open, Session, Tree};
use crate::smb::ctx::{Ctx, HandlerResult, ok_with};
use crate::smb::status;
use crate::smb::wire::session_setup::*;
use crate::vfs::{FileType, Vfs};

/// Trees one session may have connected.
const MAX_TREES_PER_SESSION: usize = 1024;

pub const FULL_ACCESS: u32 = 0x001F_01FF;
/// READ_DATA, READ_EA, EXECUTE, READ_ATTRIBUTES, READ_CONTROL, SYNCHRONIZE.
pub const READ_ACCESS: u32 = 0x0012_00A9;

/// The object a share path ("/", "/a/b") names in the Vfs.
fn share_root(vfs: &dyn Vfs, path: &str) -> Option<u64> {
    let mut id = vfs.root();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        let a = vfs.lookup(id, c).ok()?;
        if a.kind != FileType::Directory {
            return None;
        }
        id = a.id;
    }
    Some(id)
}

/// What `share` grants a tree of a (`guest`) session: whether it is
/// read-only, and its MaximalAccess (MS-SMB2 2.2.10). TREE_CONNECT sets
/// them; a reload that changes the share's options sets them again.
pub fn share_rights(share: &Share, guest: bool) -> (bool, u32) {
    // A guest on a guest-read-only share is as on a read-only one.
    let read_only = share.read_only || (guest && share.guest_read_only);
    (read_only, if read_only { READ_ACCESS } else { FULL_ACCESS })
}

pub fn tree_connect(cx: &mut Ctx<'_>) -> HandlerResult {
    let path = decode_tree_connect(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    let guest = cx.session()?.is_guest_or_anonymous();
    if cx.session()?.trees.len() >= MAX_TREES_PER_SESSION {
        return Err(status::INSUFFICIENT_RESOURCES);
    }
    // "\\server\share": the share is the last component.
    let name = path.trim_start_matches('\\').split('\\').nth(1).ok_or(status::BAD_NETWORK_NAME)?;
    let id = cx.session()?.next_tree_id;
    let tree = if name.eq_ignore_ascii_case("IPC$") {
        let root = cx.core.vfs.root();
        Tree { id, share: None, root, read_only: true, maximal_access: FULL_ACCESS, encrypt_data: false }
    } else {
        let shares = &cx.core.config.smb.shares;
        let idx = shares.iter().position(|s| s.name.to_lowercase() == name.to_lowercase());
        let idx = idx.ok_or(status::BAD_NETWORK_NAME)?;
        let share = shares.get(idx).ok_or(status::BAD_NETWORK_NAME)?;
        if guest && !share.guest_ok {
            return Err(status::ACCESS_DENIED);
        }
        let encrypt_data = share.encrypt || cx.core.config.smb.require_encryption;
        // 3.3.5.7: a share that requires encryption refuses a connection
        // that cannot encrypt, and a guest or anonymous session, which has
        // no key (smbd answers both with ACCESS_DENIED too).
        if encrypt_data && (cx.conn.cipher.is_none() || guest) {
            return Err(status::ACCESS_DENIED);
        }
        let root = share_root(&cx.core.vfs, &share.path).ok_or(status::BAD_NETWORK_NAME)?;
        let (read_only, access) = share_rights(share, guest);
        Tree { id, share: Some(idx), root, read_only, maximal_access: access, encrypt_data }
    };
    let s = cx.session()?;
    s.next_tree_id = s.next_tree_id.wrapping_add(1).max(1);
    let (ty, access) = match tree.is_ipc() {
        true => (SHARE_TYPE_PIPE, tree.maximal_access),
        false => (SHARE_TYPE_DISK, tree.maximal_access),
    };
    let flags = if tree.encrypt_data { SHAREFLAG_ENCRYPT_DATA } else { 0 };
    cx.session()?.trees.insert(id, tree);
    cx.resp_tree = Some(id);
    ok_with(|b| encode_tree_connect_response(ty, flags, 0, access, b))
}

pub fn tree_disconnect(cx: &mut Ctx<'_>) -> HandlerResult {
    cx.tree()?;
    let tid = cx.hdr.tree_id;
    for o in detach(cx.session()?, tid) {
        crate::smb::release::release_open(cx.core, cx.smb, o, cx.now);
    }
    ok_with(encode_empty_response)
}

/// Removes tree `tid` and its pipes from `session` and returns its opens,
/// for the caller to close (MS-SMB2 3.3.5.8); TREE_DISCONNECT and a reload
/// that removes the share.
pub fn detach(session: &mut Session, tid: u32) -> Vec<Open> {
    session.trees.remove(&tid);
    session.pipes.retain(|_, p| p.tree_id != tid);
    let ids: Vec<u64> = session.opens.iter().filter(|(_, o)| o.tree_id == tid).map(|(k, _)| *k).collect();
    ids.iter().filter_map(|k| session.opens.remove(k)).collect()
}
