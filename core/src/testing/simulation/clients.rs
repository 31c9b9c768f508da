//! The simulated clients' own state: what they sent and wait for, the
//! handles they hold and the breaks they were told about.

use std::collections::BTreeMap;

use crate::id::ConnId;
use crate::lease::{LeaseState, OpenId};
use crate::smb::wire::codec::FileId;
use crate::vfs::ObjectId;

/// An SMB open the client holds.
#[derive(Debug, Clone)]
pub(super) struct SmbOpen {
    pub fid: FileId,
    pub object: ObjectId,
    pub open: OpenId,
    /// The lease key the open was made under, if it asked for a lease.
    pub lease: Option<[u8; 16]>,
}

/// What a client needs to take a durable open back on a new connection
/// (DH2C, MS-SMB2 3.3.5.9.12): the open as it last had it, the name and
/// CreateGuid it was made with, and its lease's version.
#[derive(Debug, Clone)]
pub(super) struct DurableHandle {
    pub open: SmbOpen,
    pub name: &'static str,
    pub create_guid: [u8; 16],
    pub lease_v1: bool,
}

/// What a CREATE asked for beyond the open, for the client to remember.
#[derive(Debug, Clone, Copy)]
pub(super) struct Durability {
    pub name: &'static str,
    pub create_guid: [u8; 16],
    pub lease_v1: bool,
}

/// A request an SMB client sent and has no final response to yet.
#[derive(Debug, Clone)]
pub(super) enum SmbReq {
    Create {
        /// The name opened: a file's, or `file:stream`.
        name: &'static str,
        lease: Option<[u8; 16]>,
        /// Set when the CREATE asked for a durable handle.
        durable: Option<Durability>,
    },
    /// A DH2C reconnect of a durable open after a new connection.
    Reconnect(DurableHandle),
    Write {
        object: ObjectId,
        open: OpenId,
        lease: Option<[u8; 16]>,
        offset: u64,
        data: Vec<u8>,
        sent: u64,
    },
    Read {
        object: ObjectId,
        offset: u64,
        len: u32,
    },
    /// SET_INFO FileBasicInformation of these attributes on a file.
    SetAttributes {
        object: ObjectId,
        attributes: u32,
    },
    Close,
    Ack,
    OpenDir,
    /// CHANGE_NOTIFY on the client's directory open.
    Notify,
    /// An element of a related CREATE + QUERY_INFO + CLOSE chain.
    Chain,
}

/// A break notification the client has not acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Break {
    Lease { key: [u8; 16], to: LeaseState },
    Oplock { fid: FileId, level: u8 },
}

#[derive(Debug)]
pub(super) struct SmbClient {
    pub guid: [u8; 16],
    /// None while disconnected.
    pub conn: Option<ConnId>,
    pub session: u64,
    pub tree: u32,
    pub mid: u64,
    pub outstanding: BTreeMap<u64, SmbReq>,
    pub opens: Vec<SmbOpen>,
    pub breaks: Vec<Break>,
    /// The lease keys this client uses (two, so one client can hold two
    /// leases on one file).
    pub keys: [[u8; 16]; 2],
    /// An open of the share root that CHANGE_NOTIFY requests watch.
    pub dir: Option<FileId>,
    /// The durable opens granted: they outlive the connection, for the
    /// client to take back after it reconnects.
    pub durable: Vec<DurableHandle>,
}

impl SmbClient {
    pub fn new(index: usize) -> Self {
        let i = index as u8;
        Self {
            guid: [0xC0 | i; 16],
            conn: None,
            session: 0,
            tree: 0,
            mid: 0,
            outstanding: BTreeMap::new(),
            opens: Vec::new(),
            breaks: Vec::new(),
            keys: [[0x10 | i; 16], [0x20 | i; 16]],
            dir: None,
            durable: Vec::new(),
        }
    }

    /// The open was closed: it is not durable any more.
    pub fn closed(&mut self, fid: FileId) {
        self.durable.retain(|d| d.open.fid.persistent != fid.persistent);
    }

    /// The connection went away: its opens, breaks and requests with it;
    /// the durable opens are remembered.
    pub fn gone(&mut self) {
        self.conn = None;
        self.outstanding.clear();
        self.opens.clear();
        self.breaks.clear();
        self.dir = None;
    }
}

/// A request an NFS client sent and has no reply to yet.
#[derive(Debug, Clone)]
pub(super) enum NfsReq {
    Write {
        object: ObjectId,
        offset: u64,
        data: Vec<u8>,
        sent: u64,
    },
    Read {
        object: ObjectId,
        offset: u64,
        len: u32,
    },
    /// SETATTR of the size: a write as far as caching goes.
    Truncate {
        object: ObjectId,
        size: u64,
    },
    Create {
        name: String,
    },
    Commit,
    Other,
}

#[derive(Debug)]
pub(super) struct NfsClient {
    pub conn: ConnId,
    pub xid: u32,
    pub outstanding: BTreeMap<u32, NfsReq>,
}
