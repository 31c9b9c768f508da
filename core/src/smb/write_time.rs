//! The last-write time of an open file as Windows keeps it (MS-FSA
//! 2.1.4.17, 2.1.5.14.2), on the schedule smbd 4.17 follows and smbtorture
//! smb2.timestamps checks:
//!
//! - the first write through an open schedules an update [`DELAY`] later;
//!   until it fires the time SMB reports does not move; later writes
//!   through that open only ask for an update at its close;
//! - FLUSH, SET_INFO of the end of file (a new size, or the same size after
//!   a write), of the allocation, or of basic information after a write do
//!   the update at once, as does the close of an open with one pending;
//! - a LastWriteTime set by SET_INFO sticks for the open it was set through
//!   (Open.UserSetModificationTime): its writes no longer move the time,
//!   and its close writes that time back; -1 freezes the time the same way
//!   without changing it, -2 thaws it.
//!
//! Storage moves a file's mtime on every write (the kernel for LocalFs,
//! MemoryFs itself), which is what NFS clients see. SMB reports, while the
//! file has SMB opens and once one of them wrote or set the time, the time
//! kept in [`crate::smb::shared::SharedFile::write_time`] (smbd's share-mode
//! write time); every update above writes that time to storage as well, so
//! the two agree again at each update and after the last close.
//!
//! The core has no clock: the delayed update is a [`TimerKey::WriteTime`]
//! deadline of the core's timer table, fired by `Server::handle_timeout`.

use std::time::{Duration, Instant};

use crate::common::Core;
use crate::smb::SmbShared;
use crate::smb::conn::Open;
use crate::time::{TimerKey, Timespec};
use crate::vfs::{ObjectId, SetAttr, Vfs};

/// How long after the first write through an open the time moves (smbd's
/// WRITE_TIME_UPDATE_USEC_DELAY).
pub const DELAY: Duration = Duration::from_secs(2);

/// LastWriteTime -1 and -2 in FILE_BASIC_INFORMATION (MS-FSA 2.1.5.14.2).
const FREEZE: u64 = u64::MAX;
const THAW: u64 = u64::MAX - 1;

pub mod state;
pub use state::WriteTime;

/// The live open with FileId.Volatile `volatile`, wherever its session is.
fn open_mut(smb: &mut SmbShared, volatile: u64) -> Option<&mut Open> {
    smb.sessions.values_mut().find_map(|s| s.opens.get_mut(&volatile))
}

/// From now on SMB reports `object`'s time from the open state, starting
/// from what storage has now (smbd's share-mode time, taken at open).
fn pin(core: &Core, smb: &mut SmbShared, object: ObjectId) {
    if let Some(f) = smb.files.get_mut(&object).filter(|f| f.write_time.is_none()) {
        f.write_time = core.vfs.getattr(object).ok().map(|a| a.mtime);
    }
}

/// Sets `object`'s last-write time to `t`, as SMB reports it and in storage.
fn set(core: &mut Core, smb: &mut SmbShared, object: ObjectId, t: Timespec, now: Instant) {
    if let Some(f) = smb.files.get_mut(&object) {
        f.write_time = Some(t);
    }
    let wall = core.wall(now);
    let set = SetAttr { mtime: Some(t), ..Default::default() };
    if let Err(e) = core.vfs.setattr(object, &set, wall) {
        tracing::info!(object, error = %e, "last-write time update failed");
    }
}

/// A write through open `volatile` is about to reach storage.
pub fn written(core: &mut Core, smb: &mut SmbShared, volatile: u64, now: Instant) {
    let Some(open) = open_mut(smb, volatile) else { return };
    let object = open.object;
    let wt = &mut open.write_time;
    if wt.forced {
        return;
    }
    wt.on_close = true;
    if wt.triggered {
        return;
    }
    wt.triggered = true;
    core.timers.set(TimerKey::WriteTime(volatile), now + DELAY);
    pin(core, smb, object);
}

/// The update now (smbd's immediate update): the delayed one fired, or an
/// operation that shows the writes (FLUSH, SET_INFO) came first. Nothing
/// for an open whose time is the client's.
pub fn update(core: &mut Core, smb: &mut SmbShared, volatile: u64, now: Instant) {
    core.timers.cancel(TimerKey::WriteTime(volatile));
    let Some(open) = open_mut(smb, volatile) else { return };
    let object = open.object;
    let wt = &mut open.write_time;
    if wt.forced {
        return;
    }
    wt.triggered = true;
    wt.on_close = false;
    let t = core.wall(now);
    set(core, smb, object, t, now);
}

/// [`update`] when a write through open `volatile` is not shown yet
/// (FLUSH; SET_INFO of the same end of file or of basic information).
/// smbd asks whether the open ever wrote; after an update with no write
/// since, this leaves the time where it is.
pub fn update_if_pending(core: &mut Core, smb: &mut SmbShared, volatile: u64, now: Instant) {
    if open_mut(smb, volatile).is_some_and(|o| o.write_time.on_close) {
        update(core, smb, volatile, now);
    }
}

/// SET_INFO FileBasicInformation's LastWriteTime through open `volatile`
/// (MS-FSA 2.1.5.14.2), once storage has the times: a time sticks for this
/// open, -1 freezes it, -2 thaws it, 0 leaves it; then a write not yet
/// shown is (smbtorture smb2.timestamps.delayed-write-vs-setbasic: even
/// with every field 0).
pub fn basic_info_set(core: &mut Core, smb: &mut SmbShared, volatile: u64, last_write: u64, now: Instant) {
    let Some(open) = open_mut(smb, volatile) else { return };
    let object = open.object;
    match last_write {
        0 => {}
        THAW => open.write_time.forced = false,
        FREEZE => {
            open.write_time.forced = true;
            core.timers.cancel(TimerKey::WriteTime(volatile));
            pin(core, smb, object);
        }
        t => {
            open.write_time.forced = true;
            core.timers.cancel(TimerKey::WriteTime(volatile));
            if let Some(f) = smb.files.get_mut(&object) {
                f.write_time = Some(Timespec::from_filetime(t));
            }
        }
    }
    update_if_pending(core, smb, volatile, now);
}

/// `open` is closing, or leaving its connection as a durable open: a
/// pending update happens now; an open whose time is the client's writes
/// that time back (writes through other opens moved storage's); one that
/// wrote since the last update sets the time to now.
pub fn closing(core: &mut Core, smb: &mut SmbShared, open: &mut Open, now: Instant) {
    let volatile = open.file_id.volatile;
    if core.timers.cancel(TimerKey::WriteTime(volatile)) && !open.write_time.forced {
        open.write_time.on_close = true;
    }
    let wt = &mut open.write_time;
    let kept = smb.files.get(&open.object).and_then(|f| f.write_time);
    match (wt.forced, kept) {
        (true, Some(t)) => set(core, smb, open.object, t, now),
        (false, _) if wt.on_close => {
            wt.on_close = false;
            let t = core.wall(now);
            set(core, smb, open.object, t, now);
        }
        _ => {}
    }
}
