//! ONC RPC v2 (RFC 5531), MOUNT v3 and NFSv3 (RFC 1813) and the portmapper v2
//! (RFC 1833), served over one TCP connection type. Records arrive already
//! reassembled by [`crate::framing`]; each one is a call, answered with one
//! reply sent through [`Core::send`].
//!
//! Records that are not calls at all (fewer than 8 bytes, msg_type REPLY) and
//! calls whose header is malformed are dropped without an answer, as
//! RFC 5531 servers do; the connection stays open.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::common::{Core, Flow};
use crate::id::{ConnId, Protocol};
use crate::rng::Rng;
use crate::vfs::ObjectId;

pub mod mount;
pub mod nfs3;
pub mod portmap;
pub mod rpc;
pub mod xdr;

#[cfg(test)]
mod tests;

use rpc::{AcceptStat, CallHeader, Credentials, RejectStat};
use xdr::{XdrReader, XdrWriter};

/// RFC 1833, RFC 1813: program numbers.
pub const PROG_PORTMAP: u32 = 100_000;
pub const PROG_NFS: u32 = 100_003;
pub const PROG_MOUNT: u32 = 100_005;

/// EXCLUSIVE-create verifiers kept at most (oldest forgotten first).
const MAX_EXCLUSIVE_VERFS: usize = 4096;
/// Entries of the MOUNT DUMP list kept at most.
const MAX_MOUNT_ENTRIES: usize = 1024;

/// NFS state shared by every connection, kept beside the common core.
#[derive(Debug, Default)]
pub struct NfsShared {
    /// RFC 1813 3.3.7: the write verifier of this server instance, drawn
    /// from `core.rng` at first use.
    write_verf: Option<[u8; 8]>,
    /// Files written UNSTABLE and not yet committed.
    pub dirty: BTreeSet<ObjectId>,
    /// RFC 1813 3.3.8: the createverf3 of files made by EXCLUSIVE CREATE.
    exclusive: BTreeMap<ObjectId, [u8; 8]>,
    exclusive_order: VecDeque<ObjectId>,
    /// MOUNT DUMP: (client host, directory) pairs.
    pub mounts: BTreeSet<(String, String)>,
    /// NFS calls parked on all connections (bounded by `limits.max_parked`).
    pub parked: usize,
}

impl NfsShared {
    /// The write verifier, created from `core.rng` on first use.
    pub fn write_verf(&mut self, rng: &mut Rng) -> [u8; 8] {
        if let Some(v) = self.write_verf {
            return v;
        }
        let v = rng.bytes::<8>();
        self.write_verf = Some(v);
        v
    }

    /// Draws a new write verifier (after a failed COMMIT), different from
    /// the one before.
    pub fn reset_write_verf(&mut self, rng: &mut Rng) {
        let old = self.write_verf.take();
        let mut v = rng.bytes::<8>();
        while Some(v) == old {
            v = rng.bytes::<8>();
        }
        self.write_verf = Some(v);
    }

    pub fn exclusive_verf(&self, id: ObjectId) -> Option<[u8; 8]> {
        self.exclusive.get(&id).copied()
    }

    pub fn set_exclusive_verf(&mut self, id: ObjectId, verf: [u8; 8]) {
        if self.exclusive.insert(id, verf).is_none() {
            self.exclusive_order.push_back(id);
        }
        while self.exclusive.len() > MAX_EXCLUSIVE_VERFS {
            match self.exclusive_order.pop_front() {
                Some(old) => {
                    self.exclusive.remove(&old);
                }
                None => break,
            }
        }
    }

    /// Drops the EXCLUSIVE-create verifier of `id`: once a file has been
    /// written, a CREATE naming it is no longer a retransmission.
    pub fn clear_exclusive_verf(&mut self, id: ObjectId) {
        if self.exclusive.remove(&id).is_some() {
            self.exclusive_order.retain(|x| *x != id);
        }
    }

    /// Forgets what is known about an object that is gone.
    pub fn forget(&mut self, id: ObjectId) {
        self.dirty.remove(&id);
        self.clear_exclusive_verf(id);
    }

    pub fn add_mount(&mut self, host: String, dir: String) {
        if self.mounts.len() < MAX_MOUNT_ENTRIES {
            self.mounts.insert((host, dir));
        }
    }
}

/// A decoded NFS call kept while it waits (for a lease break), to be run
/// again by [`resume`].
#[derive(Debug, Clone)]
pub(crate) struct ParkedCall {
    pub xid: u32,
    pub cred: Credentials,
    pub args: nfs3::args::Nfs3Args,
}

#[derive(Debug)]
pub struct NfsConnection {
    pub id: ConnId,
    pub peer: SocketAddr,
    parked: BTreeMap<u64, ParkedCall>,
    /// Calls waiting for their storage request: xid and what the reply needs.
    io_wait: BTreeMap<u64, (u32, nfs3::read_write::NfsIo)>,
    next_op: u64,
}

impl NfsConnection {
    pub fn new(_core: &mut Core, id: ConnId, peer: SocketAddr, _now: Instant) -> Self {
        Self { id, peer, parked: BTreeMap::new(), io_wait: BTreeMap::new(), next_op: 1 }
    }

    /// Stores a call waiting for its storage request under `op`.
    pub(crate) fn wait_io(&mut self, op: u64, xid: u32, kind: nfs3::read_write::NfsIo) {
        self.io_wait.insert(op, (xid, kind));
    }

    /// A fresh op id, the WaitToken op of a call about to be parked.
    pub(crate) fn reserve_op(&mut self) -> u64 {
        let op = self.next_op;
        self.next_op += 1;
        op
    }

    /// Stores a call parked in the lease table under `op`, to be resumed
    /// when its breaks resolve.
    pub(crate) fn park(&mut self, op: u64, call: ParkedCall) {
        self.parked.insert(op, call);
    }

    pub fn parked_count(&self) -> usize {
        self.parked.len()
    }
}

/// What a program handler did with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The results were appended to the SUCCESS reply.
    Results,
    /// The call was parked; the reply comes from [`resume`].
    Parked,
}

pub(crate) fn handle_frame(
    core: &mut Core,
    shared: &mut NfsShared,
    conn: &mut NfsConnection,
    frame: Bytes,
    now: Instant,
) -> Flow {
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
        PROG_NFS => nfs3::decode_call(&hdr, cred, &mut r).map(|call| nfs3::run(core, shared, conn, call, &mut w, now)),
        _ => Err(AcceptStat::ProgUnavail),
    };
    match result {
        Ok(Answer::Results) => core.send(conn.id, Protocol::Nfs, w.as_slice()),
        Ok(Answer::Parked) => {}
        Err(stat) => core.send(conn.id, Protocol::Nfs, rpc::accepted(hdr.xid, stat).as_slice()),
    }
    Flow::Continue
}

fn send_denied(core: &mut Core, conn: &NfsConnection, xid: u32, stat: RejectStat) {
    core.send(conn.id, Protocol::Nfs, rpc::denied(xid, stat).as_slice());
}

/// The connection is gone: its parked calls are dropped unanswered and leave
/// the lease table (the breaks they caused go on; lease state is unaffected).
pub(crate) fn handle_closed(core: &mut Core, shared: &mut NfsShared, conn: &mut NfsConnection, _now: Instant) {
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
        let Some(result) = core.io.take_result(token) else { return Flow::Continue };
        let mut w: XdrWriter = rpc::accepted(xid, AcceptStat::Success);
        let cred = Credentials::None;
        let mut ctx = nfs3::Ctx { core, nfs: shared, peer: conn.peer.ip(), cred: &cred, now, io: None };
        match nfs3::read_write::io_done(&mut ctx, xid, kind, result, &mut w) {
            nfs3::read_write::IoReply::Results => core.send(conn.id, Protocol::Nfs, w.as_slice()),
            nfs3::read_write::IoReply::Framed(framed) => core.send_framed(conn.id, framed),
        }
        return Flow::Continue;
    }
    let Some(call) = conn.parked.remove(&op) else { return Flow::Continue };
    shared.parked = shared.parked.saturating_sub(1);
    let mut w: XdrWriter = rpc::accepted(call.xid, AcceptStat::Success);
    match nfs3::run(core, shared, conn, call, &mut w, now) {
        Answer::Results => core.send(conn.id, Protocol::Nfs, w.as_slice()),
        Answer::Parked => {}
    }
    Flow::Continue
}
