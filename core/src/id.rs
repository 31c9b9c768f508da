//! The names the layers share: a connection, a parked operation, a
//! protocol. They sit below everything so that the lease table, the deadline
//! table and the storage queue can name a connection without knowing the
//! server that owns it.

use crate::framing::Transport;

/// A connection, named by the core. Ids are never reused within a Server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// An operation parked until something it waits for resolves (a lease
/// break, a storage completion, a lock): the connection it belongs to and an
/// id its protocol module gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WaitToken {
    /// The connection the operation arrived on.
    pub conn: ConnId,
    /// The protocol module's id for the operation on that connection.
    pub op: u64,
}

/// The protocol a listener (and so each of its connections) speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// SMB2/3 over Direct TCP (port 445).
    Smb,
    /// ONC RPC (NFSv3, MOUNT, portmap) with record marking (port 2049).
    Nfs,
}

impl Protocol {
    /// How messages of this protocol are delimited on a stream.
    pub fn transport(self) -> Transport {
        match self {
            Protocol::Smb => Transport::SmbDirectTcp,
            Protocol::Nfs => Transport::RpcRecordMarking,
        }
    }
}
