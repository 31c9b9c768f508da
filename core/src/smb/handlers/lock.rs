//! LOCK (MS-SMB2 3.3.5.14; MS-FSA 2.1.5.8, 2.1.5.9): byte-range locks in
//! the lease table. A lock breaks other holders' caching like a write.
//! A lone lock without SMB2_LOCKFLAG_FAIL_IMMEDIATELY that conflicts waits
//! in the lease table: the request goes async (interim STATUS_PENDING,
//! MS-SMB2 3.3.4.2) and is answered when the lock is granted, with
//! STATUS_CANCELLED by CANCEL (3.3.5.16), or with STATUS_RANGE_NOT_LOCKED
//! when its open closes (as Windows and smbd answer; smb/release.rs).
//! On a durable open, or any open of a multichannel connection, a LOCK
//! repeating a LockSequence already done (its reply lost with a connection,
//! or sent again on another channel) answers SUCCESS without locking again.

use crate::id::WaitToken;
use crate::lease::{Decision, LockError, Operation, UnlockError};
use crate::smb::ctx::{Ctx, HandlerResult, Outcome, ok_with};
use crate::smb::lease::{INVALID_LOCK_RANGE, LOCK_NOT_GRANTED, RANGE_NOT_LOCKED, begin_on};
use crate::smb::status;
use crate::smb::wire::codec::{u32_at, u64_at};
use crate::smb::wire::negotiate::{CAP_MULTI_CHANNEL, DIALECT_202};
use crate::smb::wire::read_write::decode_lock;
use crate::smb::wire::session_setup::encode_empty_response;

/// SMB2_LOCK_ELEMENT Flags (MS-SMB2 2.2.26.1).
pub const LOCKFLAG_SHARED_LOCK: u32 = 0x01;
pub const LOCKFLAG_EXCLUSIVE_LOCK: u32 = 0x02;
pub const LOCKFLAG_UNLOCK: u32 = 0x04;
pub const LOCKFLAG_FAIL_IMMEDIATELY: u32 = 0x10;

#[derive(Debug, Clone, Copy)]
struct Element {
    offset: u64,
    length: u64,
    flags: u32,
}

/// The elements of a LOCK request (count already checked by decode_lock).
fn elements(msg: &[u8], count: u16) -> Result<Vec<Element>, u32> {
    let bad = |_| status::INVALID_PARAMETER;
    (0..usize::from(count))
        .map(|i| {
            let at = 64 + 24 + 24 * i;
            Ok(Element {
                offset: u64_at(msg, at).map_err(bad)?,
                length: u64_at(msg, at + 8).map_err(bad)?,
                flags: u32_at(msg, at + 16).map_err(bad)?,
            })
        })
        .collect()
}

pub fn lock(cx: &mut Ctx<'_>) -> HandlerResult {
    // MS-SMB2 3.3.5.14: lock sequence replay detection on durable opens
    // (3.x and 2.1; the array does not exist in 2.0.2), and on every open
    // of a 3.x connection that offered SMB2_GLOBAL_CAP_MULTI_CHANNEL.
    let sequenced = match decode_lock(&cx.msg) {
        Ok((fid, _)) if cx.conn.dialect != DIALECT_202 => cx.open(fid).ok().map(|o| o.file_id),
        _ => None,
    };
    let multichannel = cx.conn.server_capabilities & CAP_MULTI_CHANNEL != 0;
    let sequence = u32_at(&cx.msg, 64 + 4).unwrap_or(0);
    let durable = sequenced.is_some_and(|fid| cx.smb.durable.get(fid.persistent).is_some());
    // A lock resumed after waiting was checked when it arrived.
    if let Some(fid) = sequenced
        && cx.async_id.is_none()
    {
        let replayed = match (durable, multichannel) {
            (true, _) => cx.smb.durable.lock_replayed(fid.persistent, sequence),
            (false, true) => cx.open(fid).is_ok_and(|o| o.lock_sequences.replayed(sequence)),
            (false, false) => false,
        };
        if replayed {
            return ok_with(encode_empty_response);
        }
    }
    let r = lock_unlock(cx);
    if let (Some(fid), Ok(Outcome::Reply { status: status::SUCCESS, .. })) = (sequenced, &r) {
        match (durable, multichannel) {
            (true, _) => cx.smb.durable.lock_done(fid.persistent, sequence),
            (false, true) => {
                if let Ok(o) = cx.open(fid) {
                    o.lock_sequences.done(sequence);
                }
            }
            (false, false) => {}
        }
    }
    r
}

fn lock_unlock(cx: &mut Ctx<'_>) -> HandlerResult {
    let (fid, count) = decode_lock(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    let els = elements(&cx.msg, count)?;
    // A waiting lock granted meanwhile: the request is answered SUCCESS
    // even if its open went in the same instant (its close dropped the
    // lock), as Windows does (smbtorture smb2.lock.cancel-tdis).
    if let Some(op) = cx.op
        && cx.async_id.is_some()
        && cx.core.leases.take_lock_grant(WaitToken { conn: cx.conn.id, op })
    {
        return ok_with(encode_empty_response);
    }
    let open = cx.open(fid)?.clone();
    let unlocking = els.first().is_some_and(|e| e.flags & LOCKFLAG_UNLOCK != 0);
    if unlocking {
        for e in &els {
            if e.flags != LOCKFLAG_UNLOCK {
                return Err(status::INVALID_PARAMETER);
            }
            cx.core.leases.unlock(open.object, open.lease_open, e.offset, e.length, cx.now).map_err(|e| match e {
                UnlockError::InvalidRange => INVALID_LOCK_RANGE,
                UnlockError::RangeNotLocked => RANGE_NOT_LOCKED,
            })?;
        }
        return ok_with(encode_empty_response);
    }
    for e in &els {
        let kind = e.flags & !LOCKFLAG_FAIL_IMMEDIATELY;
        if kind != LOCKFLAG_SHARED_LOCK && kind != LOCKFLAG_EXCLUSIVE_LOCK {
            return Err(status::INVALID_PARAMETER);
        }
        // Several locks in one request must all fail immediately.
        if els.len() > 1 && e.flags & LOCKFLAG_FAIL_IMMEDIATELY == 0 {
            return Err(status::INVALID_PARAMETER);
        }
    }
    begin_on(cx, &open, Operation::Lock)?;
    if let [e] = els[..]
        && e.flags & LOCKFLAG_FAIL_IMMEDIATELY == 0
    {
        let exclusive = e.flags & LOCKFLAG_EXCLUSIVE_LOCK != 0;
        let token = WaitToken { conn: cx.conn.id, op: cx.op_id() };
        let leases = &mut cx.core.leases;
        return match leases.lock_or_wait(open.object, open.lease_open, e.offset, e.length, exclusive, token, cx.now) {
            Ok(Decision::Proceed) => ok_with(encode_empty_response),
            Ok(Decision::Wait) => {
                tracing::debug!(conn = cx.conn.id.0, op = token.op, "lock waits");
                Ok(Outcome::Pending)
            }
            Err(err) => Err(lock_error(err)),
        };
    }
    let mut done = Vec::new();
    for e in &els {
        let exclusive = e.flags & LOCKFLAG_EXCLUSIVE_LOCK != 0;
        match cx.core.leases.lock(open.object, open.lease_open, e.offset, e.length, exclusive) {
            Ok(()) => done.push(*e),
            Err(err) => {
                // MS-SMB2 3.3.5.14.2: locks granted earlier in the request are undone.
                for d in done {
                    let _ = cx.core.leases.unlock(open.object, open.lease_open, d.offset, d.length, cx.now);
                }
                return Err(lock_error(err));
            }
        }
    }
    ok_with(encode_empty_response)
}

fn lock_error(err: LockError) -> u32 {
    match err {
        LockError::InvalidRange => INVALID_LOCK_RANGE,
        LockError::NotGranted => LOCK_NOT_GRANTED,
        LockError::TooManyLocks => status::INSUFFICIENT_RESOURCES,
    }
}
