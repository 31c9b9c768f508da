//! SMB2/3 (placeholder until the "SMB server" issue lands).

pub mod auth;
pub mod fscc;
pub mod kdf;
pub mod preauth;
pub mod signing;

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::server::{ConnId, Core, Flow};

pub mod wire;

#[derive(Debug)]
pub struct SmbConnection {
    pub id: ConnId,
    pub peer: SocketAddr,
}

impl SmbConnection {
    pub fn new(_core: &mut Core, id: ConnId, peer: SocketAddr, _now: Instant) -> Self {
        Self { id, peer }
    }
}

pub(crate) fn handle_frame(_core: &mut Core, _conn: &mut SmbConnection, _frame: Bytes, _now: Instant) -> Flow {
    Flow::Close
}

pub(crate) fn handle_closed(_core: &mut Core, _conn: &mut SmbConnection, _now: Instant) {}

pub(crate) fn resume(_core: &mut Core, _conn: &mut SmbConnection, _op: u64, _now: Instant) -> Flow {
    Flow::Continue
}
