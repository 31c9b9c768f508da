//! A read-only picture of a running server for its administrator (what
//! `smbstatus` shows for Samba): SMB sessions with their trees and opens,
//! NFS clients, and NFS calls parked behind lease breaks with what each
//! waits for. Taking it ([`Server::snapshot`](crate::Server::snapshot))
//! reads state and changes nothing, so it is not an input and is not
//! recorded. Plain data; the embedder words it (JSON, text).

use std::net::SocketAddr;

/// Everything at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// SMB sessions, by connection then SessionId.
    pub sessions: Vec<SessionView>,
    /// NFS connections.
    pub nfs_clients: Vec<NfsClientView>,
    /// NFS calls parked until lease breaks resolve.
    pub parked: Vec<ParkedView>,
}

/// One SMB session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// The connection's id.
    pub conn: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// The SessionId.
    pub session_id: u64,
    /// The account; "guest" or "anonymous" for those logons, "" while the
    /// authentication is in progress.
    pub user: String,
    /// The dialect negotiated, as "3.1.1".
    pub dialect: String,
    /// Whether the session signs (it has a signing key).
    pub signing: bool,
    /// Its channels (MS-SMB2 3.3.1.8): the connection that set it up and
    /// those bound to it since, by connection id.
    pub channels: Vec<ChannelView>,
    /// Whether signing is required on it.
    pub signing_required: bool,
    /// Whether its messages are encrypted: the whole session
    /// (Session.EncryptData) or a tree of a share that requires it.
    pub encryption: bool,
    /// The connection's cipher (MS-SMB2 2.2.3.1.2) when it has one, as
    /// "AES-128-GCM"; whether it is used is `encryption`.
    pub cipher: Option<String>,
    /// Its tree connects.
    pub trees: Vec<TreeView>,
    /// Its open files and directories.
    pub opens: Vec<OpenView>,
}

/// One channel of a session: a connection it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    /// The connection's id.
    pub conn: u64,
    /// The client's address on that connection.
    pub client: SocketAddr,
    /// false while the binding SESSION_SETUP is still in progress.
    pub bound: bool,
}

/// One tree connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeView {
    /// The TreeId.
    pub tree_id: u32,
    /// The share's name ("IPC$" for the pipe share).
    pub share: String,
}

/// One SMB open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenView {
    /// FileId.Persistent.
    pub file_id: u64,
    /// The tree it was opened on.
    pub tree_id: u32,
    /// The storage object's id.
    pub object: u64,
    /// The share of its tree.
    pub share: String,
    /// Its path in the share, as a client names it (`dir\file.txt`,
    /// `file.txt:stream`); "" for the share's root, "?" when a name on
    /// the way can no longer be found.
    pub path: String,
    /// The granted access mask (MS-SMB2 2.2.13.1).
    pub access: u32,
    /// The lease the open was made under, if any: its caching as "RWH",
    /// "RH", "R" or "" (none).
    pub lease: Option<String>,
    /// The classic oplock held ("none", "II", "exclusive", "batch").
    pub oplock: String,
    /// A break of its lease or oplock awaits the client's acknowledgment.
    pub breaking: bool,
}

/// One NFS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsClientView {
    /// The connection's id.
    pub conn: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// Calls of it parked now.
    pub parked: usize,
}

/// One parked NFS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedView {
    /// The connection's id.
    pub conn: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// The call's xid.
    pub xid: u32,
    /// The NFSv3 procedure, as "READ".
    pub procedure: String,
    /// The holders it waits for.
    pub waits_on: Vec<WaitView>,
}

/// One holder of caching a parked operation waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitView {
    /// "lease KEY" (the LeaseKey in hex) or "oplock OPEN".
    pub holder: String,
    /// The caching it holds now, as "RWH".
    pub holds: String,
    /// The rights it must give up for the call to go on, as "W".
    pub must_lose: String,
    /// A break notification was sent and awaits its acknowledgment.
    pub breaking: bool,
}

/// A lease state's letters in the usual order, "R", "RH", "RWH"...
pub fn caching_letters(bits: u32) -> String {
    [(1, 'R'), (4, 'W'), (2, 'H')].iter().filter(|(b, _)| bits & b != 0).map(|(_, c)| *c).collect()
}
