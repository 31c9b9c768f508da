//! ONC RPC v2 (RFC 5531), MOUNT v3 and NFSv3 (RFC 1813) and the portmapper v2
//! (RFC 1833), served over one TCP connection type. Records arrive already
//! reassembled by [`crate::framing`]; each one is a call, answered with one
//! reply sent through [`Core::send`].
//!
//! Records that are not calls at all (fewer than 8 bytes, msg_type REPLY) and
//! calls whose header is malformed are dropped without an answer, as
//! RFC 5531 servers do; the connection stays open.

use std::time::Instant;

use bytes::Bytes;

use crate::common::{Core, Flow};
use crate::id::Protocol;

pub mod conn;
pub mod mount;
pub mod nfs3;
pub mod portmap;
pub mod rpc;
pub mod shared;
pub mod snapshot;
pub mod xdr;

#[cfg(test)]
mod tests;

pub(crate) use conn::Answer;
pub use conn::NfsConnection;
pub use rpc::{PROG_MOUNT, PROG_NFS, PROG_PORTMAP};
pub use shared::NfsShared;

use rpc::{AcceptStat, CallHeader, Credentials, RejectStat};
use xdr::{XdrReader, XdrWriter};

pub(crate) fn handle_frame(
    core: &mut Core,
    shared: &mut NfsShared,
    conn: &mut NfsConnection,
    frame: Bytes,
    now: Instant,
) -> Flow {
    handle_frame_with(core, shared, conn, frame, None, now)
}

/// [`handle_frame`] of a record that may end where a WRITE's data begins,
/// the data having come in pipes (`payload`; see
/// [`crate::Server::handle_spliced_frame`]).
pub(crate) fn handle_frame_with(
    core: &mut Core,
    shared: &mut NfsShared,
    conn: &mut NfsConnection,
    frame: Bytes,
    payload: Option<crate::splice::PipedData>,
    now: Instant,
) -> Flow {
    conn.touch(core, now);
    let mut r = XdrReader::over(&frame);
    let hdr = match CallHeader::decode(&mut r) {
        Ok(h) => h,
        Err(e) => {
            tracing::debug!(conn = conn.id.0, error = %e, "dropping RPC record");
            return Flow::Continue;
        }
    };
    if hdr.rpcvers != rpc::RPC_VERSION {
        send_denied(core, conn, hdr.xid, RejectStat::RpcMismatch { low: 2, high: 2 });
        return Flow::Continue;
    }
    let cred = match hdr.credentials() {
        Ok(c) => c,
        Err(s) => {
            send_denied(core, conn, hdr.xid, RejectStat::AuthError(s));
            return Flow::Continue;
        }
    };
    let mut w = rpc::accepted(hdr.xid, AcceptStat::Success);
    let result = match hdr.prog {
        PROG_PORTMAP if hdr.vers != portmap::VERSION => Err(AcceptStat::ProgMismatch { low: 2, high: 2 }),
        PROG_PORTMAP => portmap::handle(core, hdr.proc_, &mut r, &mut w),
        PROG_MOUNT if hdr.vers != mount::VERSION => Err(AcceptStat::ProgMismatch { low: 3, high: 3 }),
        PROG_MOUNT => mount::handle(core, shared, conn, hdr.proc_, &mut r, &mut w),
        PROG_NFS if hdr.vers != nfs3::VERSION => Err(AcceptStat::ProgMismatch { low: 3, high: 3 }),
        PROG_NFS => nfs3::decode_call(&hdr, cred, &mut r, payload).map(|call| {
            let proc_no = call.args.proc_no() as usize;
            if let Some(n) = core.stats.nfs_calls.get_mut(proc_no) {
                *n += 1;
            }
            core.request_begun(conn.id, u64::from(hdr.xid), proc_no);
            nfs3::run(core, shared, conn, call, &mut w, now)
        }),
        _ => Err(AcceptStat::ProgUnavail),
    };
    match result {
        Ok(Answer::Results) => reply(core, conn, hdr.xid, w.as_slice()),
        Ok(Answer::Parked) => {}
        Err(stat) => reply(core, conn, hdr.xid, rpc::accepted(hdr.xid, stat).as_slice()),
    }
    Flow::Continue
}

/// Queues the reply to call `xid` (which ends its latency measurement).
fn reply(core: &mut Core, conn: &NfsConnection, xid: u32, message: &[u8]) {
    core.request_done(conn.id, Protocol::Nfs, u64::from(xid));
    core.send(conn.id, Protocol::Nfs, message);
}

fn send_denied(core: &mut Core, conn: &NfsConnection, xid: u32, stat: RejectStat) {
    core.send(conn.id, Protocol::Nfs, rpc::denied(xid, stat).as_slice());
}

/// The connection is gone: its parked calls are dropped unanswered and leave
/// the lease table (the breaks they caused go on; lease state is unaffected).
pub(crate) fn handle_closed(core: &mut Core, shared: &mut NfsShared, conn: &mut NfsConnection, _now: Instant) {
    core.timers.cancel(crate::time::TimerKey::NfsIdle(conn.id));
    conn.io_wait.clear();
    shared.parked = shared.parked.saturating_sub(conn.parked.len());
    for op in std::mem::take(&mut conn.parked).into_keys() {
        core.leases.cancel_waiter(crate::id::WaitToken { conn: conn.id, op });
    }
}

/// Runs a parked call again once what it waited for has resolved.
pub(crate) fn resume(core: &mut Core, shared: &mut NfsShared, conn: &mut NfsConnection, op: u64, now: Instant) -> Flow {
    if let Some((xid, kind)) = conn.io_wait.remove(&op) {
        let token = crate::id::WaitToken { conn: conn.id, op };
        let Some((result, framed)) = core.io.take_result_and_reply(token) else { return Flow::Continue };
        let mut w: XdrWriter = rpc::accepted(xid, AcceptStat::Success);
        let cred = Credentials::None;
        let mut ctx = nfs3::Ctx { core, nfs: shared, peer: conn.peer, cred: &cred, now, io: None, passed: None };
        match nfs3::read_write::io_done(&mut ctx, xid, kind, result, framed, &mut w) {
            nfs3::read_write::IoReply::Results => reply(core, conn, xid, w.as_slice()),
            nfs3::read_write::IoReply::Framed(reply) => {
                core.framed_reply_done(conn.id, Protocol::Nfs, u64::from(xid), reply)
            }
        }
        conn.touch(core, now);
        return Flow::Continue;
    }
    let Some(call) = conn.parked.remove(&op) else { return Flow::Continue };
    shared.parked = shared.parked.saturating_sub(1);
    let mut w: XdrWriter = rpc::accepted(call.xid, AcceptStat::Success);
    let xid = call.xid;
    match nfs3::run(core, shared, conn, call, &mut w, now) {
        Answer::Results => reply(core, conn, xid, w.as_slice()),
        Answer::Parked => {}
    }
    conn.touch(core, now);
    Flow::Continue
}

/// The connection's idle deadline passed: close it, unless a call is still
/// parked or waiting for storage (then wait another idle period; the reply
/// restarts the count anyway).
pub(crate) fn idle_expired(core: &mut Core, conn: &mut NfsConnection, now: Instant) -> Flow {
    if conn.busy() {
        conn.touch(core, now);
        return Flow::Continue;
    }
    tracing::info!(conn = conn.id.0, peer = %conn.peer, "closing idle NFS connection");
    core.stats.nfs_idle_closed += 1;
    Flow::Close
}
