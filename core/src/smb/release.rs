//! The release of an open that CLOSE, CREATE, LOGOFF, TREE_DISCONNECT and a
//! dropped connection share: share-mode entry, name bookkeeping and
//! delete-on-close (MS-FSA 2.1.5.4).

use std::time::Instant;

use crate::common::Core;
use crate::lease::{Caller, Operation};
use crate::smb::SmbShared;
use crate::smb::shared::SharedFile;
use crate::smb::conn::Open;
use crate::vfs::{FileType, Vfs};

/// Forgets `open`; deletes the file when it was the last open of a file
/// marked delete-pending.
pub fn release_open(core: &mut Core, smb: &mut SmbShared, mut open: Open, now: Instant) {
    crate::smb::write_time::closing(core, smb, &mut open, now);
    // Its watch ends with it (a CLOSE completes the waiting requests itself).
    crate::smb::change_notify::open_released(smb, open.file_id.volatile);
    // A LOCK still waiting on the open fails: MS-SMB2 3.3.4.17 (which CLOSE,
    // 3.3.5.10, invokes) cancels the open's pending requests, but Windows and
    // smbd answer a lock waiting on a handle that goes away with
    // STATUS_RANGE_NOT_LOCKED, not STATUS_CANCELLED (smbtorture
    // smb2.lock.cancel, "cancel by close", checks it), and clients follow
    // them. The settle loop sends it (`SmbShared::take_completions`).
    for t in core.leases.lock_waits_of(open.lease_open) {
        core.leases.cancel_waiter(t);
        smb.completions.push((t, crate::smb::lease::RANGE_NOT_LOCKED));
    }
    // The close of an open that wrote updates the file's directory entry,
    // and a delete-on-close removes it: both break the directory's leases
    // (MS-FSA 2.1.5.4) but the one the open names as its parent. A close
    // cannot wait, so the breaks are only sent.
    let child_caller = core.leases.child_caller(open.lease_open);
    let parent = smb.files.get(&open.object).filter(|f| !f.is_stream && !f.name.is_empty()).map(|f| f.parent);
    if let Some(dir) = parent
        && open.written
    {
        core.leases.break_only(&[(dir, Operation::ChildChange)], child_caller, now);
    }
    // MS-FSA 2.1.5.5 phase 1: closing a delete-on-close open marks the
    // file deleted, as FileDispositionInformation does, which breaks the
    // other holders' H (2.1.4.12; smbtorture smb2.lease.unlink expects
    // RH -> R, ack required). A close cannot wait: the break is only sent.
    if open.delete_on_close {
        core.leases.break_only(&[(open.object, Operation::Delete)], Caller::Open(open.lease_open), now);
    }
    // close_open: released waiters are timed at `now`, not at the last call.
    core.leases.close_open(open.lease_open, now);
    smb.durable.forget(open.file_id.persistent);
    smb.open_refs.remove(&open.lease_open);
    smb.app_instances.remove(open.lease_open);
    if open.delete_on_close {
        if let Some(f) = smb.files.get_mut(&open.object) {
            f.delete_pending = true;
        }
        crate::smb::change_notify::delete_pending(smb, open.object);
    }
    let Some(f) = smb.remove_open(open.object) else { return };
    // The last stream open of a file whose delete waits for it.
    if f.is_stream
        && smb.files.get(&f.parent).is_some_and(|b| b.open_count == 0)
        && !smb.files.values().any(|s| s.is_stream && s.parent == f.parent)
        && let Some(base) = smb.files.remove(&f.parent)
    {
        delete(core, &f, child_caller, open.kind, now);
        let kind = FileType::Regular;
        return delete(core, &base, child_caller, kind, now);
    }
    if !f.delete_pending || f.name.is_empty() {
        return;
    }
    // A file deleted while its streams are open stays, delete pending,
    // until they close: they still read and write it (smbtorture
    // smb2.streams.delete).
    if !f.is_stream && smb.files.values().any(|s| s.is_stream && s.parent == open.object) {
        smb.files.insert(open.object, f);
        return;
    }
    delete(core, &f, child_caller, open.kind, now);
}

/// Removes a delete-pending object whose last open closed.
fn delete(core: &mut Core, f: &SharedFile, child_caller: Caller, kind: FileType, now: Instant) {
    if !f.delete_pending || f.name.is_empty() {
        return;
    }
    let wall = core.wall(now);
    if !f.is_stream {
        core.leases.break_only(&[(f.parent, Operation::ChildChange)], child_caller, now);
    }
    let r = match (f.is_stream, kind) {
        (true, _) => core.vfs.remove_stream(f.parent, &f.name, wall),
        (false, FileType::Directory) => core.vfs.rmdir(f.parent, &f.name, wall),
        (false, _) => core.vfs.remove(f.parent, &f.name, wall),
    };
    if let Err(e) = r {
        tracing::info!(name = %f.name, error = %e, "delete on close failed");
    }
}
