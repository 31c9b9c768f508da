//! [`NfsConnection`]: one NFS connection's parked calls and calls waiting
//! for storage, and what a program handler did with a call.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use super::nfs3::args::Nfs3Args;
use super::nfs3::ctx::NfsIo;
use super::rpc::Credentials;
use crate::common::Core;
use crate::id::ConnId;
use crate::time::TimerKey;

/// A decoded NFS call kept while it waits (for a lease break), to be run
/// again by [`resume`](super::resume).
#[derive(Debug, Clone)]
pub(crate) struct ParkedCall {
    pub xid: u32,
    pub cred: Credentials,
    pub args: Nfs3Args,
}

#[derive(Debug)]
pub struct NfsConnection {
    pub id: ConnId,
    pub peer: SocketAddr,
    pub(super) parked: BTreeMap<u64, ParkedCall>,
    /// Calls waiting for their storage request: xid and what the reply needs.
    pub(super) io_wait: BTreeMap<u64, (u32, NfsIo)>,
    next_op: u64,
}

impl NfsConnection {
    pub fn new(core: &mut Core, id: ConnId, peer: SocketAddr, now: Instant) -> Self {
        let conn = Self { id, peer, parked: BTreeMap::new(), io_wait: BTreeMap::new(), next_op: 1 };
        conn.touch(core, now);
        conn
    }

    /// Something happened on the connection (a call arrived, or a reply
    /// left): its idle deadline starts again from `now`.
    pub(crate) fn touch(&self, core: &mut Core, now: Instant) {
        let key = TimerKey::NfsIdle(self.id);
        // Zero means never, as None: a deadline at `now` itself would fire
        // again within the same `handle_timeout` for a busy connection.
        let idle = core.config.limits.nfs_idle_timeout.filter(|d| !d.is_zero());
        match idle.and_then(|d| now.checked_add(d)) {
            Some(at) => core.timers.set(key, at),
            None => {
                core.timers.cancel(key);
            }
        }
    }

    /// Whether a call is parked (on a lease break) or waits for storage: a
    /// busy connection is not idle, however long the wait.
    pub(crate) fn busy(&self) -> bool {
        !self.parked.is_empty() || !self.io_wait.is_empty()
    }

    /// Stores a call waiting for its storage request under `op`.
    pub(crate) fn wait_io(&mut self, op: u64, xid: u32, kind: NfsIo) {
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
    /// The call was parked; the reply comes from [`resume`](super::resume).
    Parked,
}
