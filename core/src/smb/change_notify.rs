//! Directory change notification (MS-SMB2 3.3.5.19, MS-FSA 2.1.5.10): the
//! watches SMB clients set on directory opens, fed from the Vfs change
//! journal, so that a change made over NFS completes an SMB CHANGE_NOTIFY
//! just as one made over SMB does.
//!
//! The first CHANGE_NOTIFY on an open starts its watch; changes that arrive
//! while no request waits are kept (bounded) and answer the next request at
//! once. A waiting request is a parked operation like a lease wait: a change
//! wakes it through `Core::ready` and the handler runs again.

use crate::common::Core;
use crate::id::{ConnId, WaitToken};
use crate::smb::SmbShared;
use crate::smb::status;
use crate::smb::watches::Watch;
use crate::vfs::journal::{Change, action};
use crate::vfs::{ObjectId, Vfs};

/// Changes kept per watch between two requests; past it the next request
/// answers STATUS_NOTIFY_ENUM_DIR (the client re-reads the directory).
pub const MAX_PENDING_CHANGES: usize = 512;
/// How deep below a WATCH_TREE directory changes are reported.
const MAX_DEPTH: usize = 64;

/// Drains the change journal into the watches it concerns and wakes their
/// waiting requests. Called by the server's settle loop.
pub fn deliver(core: &mut Core, smb: &mut SmbShared) {
    if !core.vfs.has_changes() {
        return;
    }
    let changes = core.vfs.take_changes();
    if smb.watches.0.is_empty() {
        return;
    }
    for c in changes {
        let (dir, name, act, bits) = match c {
            Change::Entry { dir, name, action, filter } => (dir, name, action, filter),
            // Content and attribute changes are reported for files that
            // have an SMB open, whose name the SMB side knows.
            Change::Object { id, filter } => match smb.files.get(&id) {
                Some(f) if !f.is_stream && !f.name.is_empty() => (f.parent, f.name.clone(), action::MODIFIED, filter),
                _ => continue,
            },
            Change::Overflow => {
                for w in smb.watches.0.values_mut() {
                    w.overflow = true;
                }
                continue;
            }
        };
        for w in smb.watches.0.values_mut() {
            if w.filter & bits == 0 {
                continue;
            }
            let Some(rel) = relative(&core.vfs, w, dir, &name) else { continue };
            if w.changes.len() >= MAX_PENDING_CHANGES {
                w.overflow = true;
            } else {
                w.changes.push_back((act, rel));
            }
        }
    }
    for w in smb.watches.0.values() {
        if w.changes.is_empty() && !w.overflow {
            continue;
        }
        for op in &w.waiting {
            core.ready.push_back(WaitToken { conn: w.conn, op: *op });
        }
    }
}

/// `name` in `dir` as the watch names it: itself for its own directory,
/// a backslash path below it for WATCH_TREE, otherwise none.
fn relative(vfs: &dyn Vfs, w: &Watch, dir: ObjectId, name: &str) -> Option<String> {
    if dir == w.dir {
        return Some(name.to_string());
    }
    if !w.tree {
        return None;
    }
    let mut parts = vec![name.to_string()];
    let mut at = dir;
    for _ in 0..MAX_DEPTH {
        let up = vfs.parent(at).ok()?;
        if up == at {
            return None;
        }
        parts.push(crate::smb::handlers::path::name_in(vfs, up, at)?);
        if up == w.dir {
            parts.reverse();
            return Some(parts.join("\\"));
        }
        at = up;
    }
    None
}

/// The open `volatile` is closed: its watch ends; the requests still
/// waiting on it are returned, to be completed with STATUS_NOTIFY_CLEANUP.
pub fn open_closed(smb: &mut SmbShared, volatile: u64) -> Vec<u64> {
    smb.watches.0.remove(&volatile).map(|w| w.waiting).unwrap_or_default()
}

/// The open `volatile` went away with its tree or session (TREE_DISCONNECT,
/// LOGOFF): its waiting requests are completed with STATUS_NOTIFY_CLEANUP
/// by the server's settle loop ([`SmbShared::take_completions`]).
pub fn open_released(smb: &mut SmbShared, volatile: u64) {
    if let Some(w) = smb.watches.0.remove(&volatile) {
        let conn = w.conn;
        let done = w.waiting.into_iter().map(|op| (WaitToken { conn, op }, status::NOTIFY_CLEANUP));
        smb.completions.extend(done);
    }
}

/// MS-FSA 2.1.5.10: directory `dir` is now pending deletion: requests
/// watching it complete with STATUS_DELETE_PENDING (by
/// [`SmbShared::take_completions`]).
pub fn delete_pending(smb: &mut SmbShared, dir: ObjectId) {
    for w in smb.watches.0.values_mut().filter(|w| w.dir == dir) {
        let conn = w.conn;
        smb.completions.extend(w.waiting.drain(..).map(|op| (WaitToken { conn, op }, status::DELETE_PENDING)));
    }
}

/// The connection is gone: its watches with it.
pub fn conn_closed(smb: &mut SmbShared, conn: ConnId) {
    smb.watches.0.retain(|_, w| w.conn != conn);
    smb.completions.retain(|(t, _)| t.conn != conn);
}
