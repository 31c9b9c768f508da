//! ONC RPC, MOUNT, portmapper and NFSv3 (placeholder until the "NFS server" issue lands).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::server::{ConnId, Core, Flow};

#[derive(Debug)]
pub struct NfsConnection {
    pub id: ConnId,
    pub peer: SocketAddr,
}

impl NfsConnection {
    pub fn new(_core: &mut Core, id: ConnId, peer: SocketAddr, _now: Instant) -> Self {
        Self { id, peer }
    }
}

pub(crate) fn handle_frame(_core: &mut Core, _conn: &mut NfsConnection, _frame: Bytes, _now: Instant) -> Flow {
    Flow::Close
}

pub(crate) fn handle_closed(_core: &mut Core, _conn: &mut NfsConnection, _now: Instant) {}

pub(crate) fn resume(_core: &mut Core, _conn: &mut NfsConnection, _op: u64, _now: Instant) -> Flow {
    Flow::Continue
}
