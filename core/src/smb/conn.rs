//! Per-connection, per-session, per-channel, per-tree and per-open state
//! (MS-SMB2 3.3.1.7, 3.3.1.8, 3.3.1.9, 3.3.1.10). Sessions are kept
//! server-wide (`SmbShared::sessions`), each with the connections it is
//! bound to.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;

use super::auth::{Identity, NtlmAcceptor};
use super::cipher::{Cipher, SessionCipher};
use super::credits::CreditWindow;
use super::preauth::PreauthHash;
use super::signing::SigningAlgorithm;
use super::wire::codec::FileId;
use super::wire::header::Header;
use crate::id::ConnId;
use crate::lease::OpenId;
use crate::vfs::{FileType, ObjectId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegotiateState {
    /// Nothing negotiated yet: SMB1 or SMB2 NEGOTIATE accepted.
    Initial,
    /// Answered an SMB1 NEGOTIATE with 2.???: an SMB2 NEGOTIATE must follow.
    Wildcard,
    Done,
}

#[derive(Debug)]
pub struct SmbConnection {
    pub id: ConnId,
    pub peer: SocketAddr,
    pub state: NegotiateState,
    pub dialect: u16,
    pub client_guid: [u8; 16],
    pub client_security_mode: u16,
    pub client_capabilities: u32,
    pub client_dialects: Vec<u16>,
    pub server_capabilities: u32,
    pub server_security_mode: u16,
    /// The algorithm of SIGNING_CAPABILITIES (3.1.1) or the dialect default.
    pub signing: SigningAlgorithm,
    /// Connection.PreauthIntegrityHashValue (3.1.1 only).
    pub preauth: Option<PreauthHash>,
    /// Connection.CipherId: AES-128-CCM for a 3.0 or 3.0.2 client with
    /// SMB2_GLOBAL_CAP_ENCRYPTION, the cipher of ENCRYPTION_CAPABILITIES
    /// for 3.1.1; None when the connection cannot encrypt.
    pub cipher: Option<Cipher>,
    pub credits: CreditWindow,
    /// Requests that went async, by op id.
    pub pending: BTreeMap<u64, Pending>,
    /// Requests waiting for their storage request, by op id.
    pub io_wait: BTreeMap<u64, IoWait>,
    /// Large TRANSFORM messages being decrypted by a worker, by op id: the
    /// SessionId they name.
    pub unsealing: BTreeMap<u64, u64>,
    pub next_op: u64,
    pub next_async_id: u64,
}

impl SmbConnection {
    pub fn with_id(id: ConnId, peer: SocketAddr) -> Self {
        Self {
            id,
            peer,
            state: NegotiateState::Initial,
            dialect: 0,
            client_guid: [0; 16],
            client_security_mode: 0,
            client_capabilities: 0,
            client_dialects: Vec::new(),
            server_capabilities: 0,
            server_security_mode: 0,
            signing: SigningAlgorithm::HmacSha256,
            preauth: None,
            cipher: None,
            credits: CreditWindow::default(),
            pending: BTreeMap::new(),
            io_wait: BTreeMap::new(),
            unsealing: BTreeMap::new(),
            next_op: 1,
            next_async_id: 1,
        }
    }

    /// Whether the negotiated dialect supports multi-credit requests.
    pub fn large_mtu(&self) -> bool {
        self.dialect >= super::wire::negotiate::DIALECT_210
    }
}

/// A connection a session is bound to (MS-SMB2 3.3.1.8 Channel): requests
/// of the session arrive on any of its channels and are answered on the
/// one they came on, signed with that channel's key.
#[derive(Debug)]
pub struct Channel {
    pub peer: SocketAddr,
    /// Channel.SigningKey: the session's signing key on the connection that
    /// set the session up; on a bound one, derived from the binding's own
    /// authentication (3.3.5.5.3).
    pub signing_key: Option<[u8; 16]>,
    /// The binding SESSION_SETUP exchange while it runs; None once the
    /// channel is usable.
    pub binding: Option<Binding>,
}

/// A session binding in progress on a new connection (3.3.5.5).
#[derive(Debug)]
pub struct Binding {
    pub auth: NtlmAcceptor,
    /// PreauthSession.PreauthIntegrityHashValue (3.1.1).
    pub preauth: Option<PreauthHash>,
}

/// A session (MS-SMB2 3.3.1.8), server-wide: its trees and opens are
/// reachable from every channel it is bound to.
#[derive(Debug)]
pub struct Session {
    pub id: u64,
    /// Session.Connection: the connection that set the session up, or once
    /// that is gone the oldest channel left.
    pub conn: ConnId,
    /// Session.Connection.Dialect, ClientGuid, signing algorithm and
    /// CipherId: a binding connection must have negotiated the same.
    pub dialect: u16,
    pub client_guid: [u8; 16],
    pub signing: SigningAlgorithm,
    pub cipher_id: Option<Cipher>,
    /// Session.ChannelList, by connection.
    pub channels: BTreeMap<ConnId, Channel>,
    /// The TreeId the next TREE_CONNECT gets (unique in the session).
    pub next_tree_id: u32,
    /// The NTLM exchange while the session is being set up.
    pub auth: Option<NtlmAcceptor>,
    pub valid: bool,
    pub identity: Option<Identity>,
    pub signing_key: Option<[u8; 16]>,
    /// Session.SigningRequired: every request must be signed.
    pub signing_required: bool,
    /// Session.PreauthIntegrityHashValue (3.1.1, during setup).
    pub preauth: Option<PreauthHash>,
    /// Session.EncryptionKey, DecryptionKey and the nonce counter: set up
    /// for a user session on a connection with a cipher.
    pub cipher: Option<SessionCipher>,
    /// Session.EncryptData: every request must come encrypted and every
    /// response goes encrypted (MS-SMB2 3.3.5.2.9, 3.3.4.1.4).
    pub encrypt_data: bool,
    pub trees: BTreeMap<u32, Tree>,
    /// Opens by FileId.Volatile.
    pub opens: BTreeMap<u64, Open>,
    /// Named pipe opens (on IPC$) by FileId.Volatile.
    pub pipes: BTreeMap<u64, super::pipe::PipeOpen>,
}

impl Session {
    /// A new session set up on `conn` (3.3.5.5.1), its first channel.
    pub fn new(id: u64, conn: &SmbConnection) -> Self {
        let first = Channel { peer: conn.peer, signing_key: None, binding: None };
        Self {
            id,
            conn: conn.id,
            dialect: conn.dialect,
            client_guid: conn.client_guid,
            signing: conn.signing,
            cipher_id: conn.cipher,
            channels: BTreeMap::from([(conn.id, first)]),
            next_tree_id: 1,
            auth: None,
            valid: false,
            identity: None,
            signing_key: None,
            signing_required: false,
            preauth: None,
            cipher: None,
            encrypt_data: false,
            trees: BTreeMap::new(),
            opens: BTreeMap::new(),
            pipes: BTreeMap::new(),
        }
    }

    /// Whether `conn` is a usable channel of the session (set up on it, or
    /// bound to it).
    pub fn on(&self, conn: ConnId) -> bool {
        self.channels.get(&conn).is_some_and(|c| c.binding.is_none())
    }

    /// The key requests and responses on `conn` are signed with.
    pub fn channel_key(&self, conn: ConnId) -> Option<[u8; 16]> {
        self.channels.get(&conn).and_then(|c| c.signing_key)
    }

    pub fn is_guest_or_anonymous(&self) -> bool {
        matches!(self.identity, Some(Identity::Guest) | Some(Identity::Anonymous))
    }

    /// The open named by `fid` if it belongs to tree `tree_id`.
    pub fn open_mut(&mut self, fid: FileId, tree_id: u32) -> Option<&mut Open> {
        self.opens.get_mut(&fid.volatile).filter(|o| o.file_id == fid && o.tree_id == tree_id)
    }
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub id: u32,
    /// None for IPC$.
    pub share: Option<usize>,
    pub root: ObjectId,
    pub read_only: bool,
    pub maximal_access: u32,
    /// TreeConnect.Share.EncryptData: requests on the tree must come
    /// encrypted (MS-SMB2 3.3.5.2.11).
    pub encrypt_data: bool,
}

impl Tree {
    pub fn is_ipc(&self) -> bool {
        self.share.is_none()
    }
}

/// Where a directory enumeration resumes (MS-SMB2 3.3.5.18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirPos {
    #[default]
    Dot,
    DotDot,
    /// The Vfs readdir cookie to continue after.
    Cookie(u64),
    End,
}

#[derive(Debug, Clone, Default)]
pub struct DirState {
    pub pos: DirPos,
    pub pattern: Option<String>,
    /// Whether a query since the last restart returned entries or ended.
    pub started: bool,
}

#[derive(Debug, Clone)]
pub struct Open {
    pub file_id: FileId,
    pub tree_id: u32,
    pub object: ObjectId,
    pub kind: FileType,
    pub lease_open: OpenId,
    pub access: u32,
    pub delete_on_close: bool,
    /// Data was written through this open: its close changes the file's
    /// entry in its directory (times, size) and breaks directory leases
    /// (smbtorture smb2.lease.v2_request).
    pub written: bool,
    /// Its part in the delayed last-write time (smb/write_time.rs).
    pub write_time: crate::smb::write_time::state::WriteTime,
    pub position: u64,
    pub mode: u32,
    pub dir: DirState,
    /// Open.LockSequenceArray of an open that is not durable, checked on a
    /// multichannel connection (3.3.5.14; a durable open's is kept with
    /// its durable state, `smb/durable_opens.rs`).
    pub lock_sequences: super::lock_sequence::LockSequences,
    /// Open.CurrentEaIndex less one (MS-SMB2 3.3.1.10): where the next
    /// FileFullEaInformation enumeration starts (handlers/ea.rs).
    pub next_ea: u32,
}

/// A data operation waiting for its storage request, as the reply needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoKind {
    Read {
        file_id: FileId,
        offset: u64,
        minimum: u32,
    },
    Write {
        file_id: FileId,
        offset: u64,
    },
    Flush,
    /// FSCTL_SRV_COPYCHUNK(_WRITE) on `file_id`: the `chunks` chunks
    /// copied, and the status of the chunk that stopped the copy, if one did.
    CopyChunk {
        file_id: FileId,
        ctl_code: u32,
        chunks: u32,
        stop: Option<u32>,
    },
    /// FSCTL_SET_ZERO_DATA on `file_id`.
    ZeroData {
        file_id: FileId,
    },
    /// FSCTL_QUERY_ALLOCATED_RANGES on `file_id`, whose output holds `fit`
    /// ranges.
    AllocatedRanges {
        file_id: FileId,
        fit: usize,
    },
    /// The request's signature is being checked; it runs afterwards.
    Verify,
}

/// A request waiting for its storage request: what its reply needs.
#[derive(Debug, Clone)]
pub struct IoWait {
    /// The request header (MessageId, session, tree, signing flag).
    pub header: Header,
    /// Credits granted by the reply.
    pub credits: u16,
    pub kind: IoKind,
    /// The request itself, while its signature is being checked.
    pub msg: Option<Bytes>,
    /// The SessionId of the TRANSFORM_HEADER it came in, if encrypted.
    pub encrypted: Option<u64>,
}

/// A request that went async (MS-SMB2 3.3.4.2), kept until it completes.
#[derive(Debug, Clone)]
pub struct Pending {
    pub async_id: u64,
    pub header: Header,
    /// The request message (one compound element), re-run on resume.
    pub msg: Bytes,
    /// The rest of its related compound chain, answered with interim
    /// responses and run when this one completes (MS-SMB2 3.3.5.2.7.2).
    pub followers: Vec<Follower>,
    /// The SessionId of the TRANSFORM_HEADER it came in, if encrypted.
    pub encrypted: Option<u64>,
    /// Its WRITE data, when the adapter received it into pipes.
    pub payload: Option<crate::splice::PipedData>,
}

/// A related compound element waiting for the element before it.
#[derive(Debug, Clone)]
pub struct Follower {
    pub async_id: u64,
    /// The request header with ASYNC set and its AsyncId.
    pub header: Header,
    pub msg: Bytes,
    /// The SessionId of the TRANSFORM_HEADER it came in, if encrypted.
    pub encrypted: Option<u64>,
}
