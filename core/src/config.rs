//! Server configuration: limits, shares, exports, users. Plain data, built by
//! the embedding program (the example servers build it from the command line).

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Everything a [`Server`](crate::Server) needs to know besides its storage:
/// resource limits, the SMB side and the NFS side. `Default` gives a server
/// with one guest-writable share and one export of the Vfs root.
#[derive(Debug, Clone)]
pub struct Config {
    /// Wall-clock time at the `start` instant given to `Server::new`; every
    /// FILETIME and nfstime3 derives from it. Adapters set it from the OS
    /// clock; tests fix it.
    pub wall_anchor: SystemTime,
    /// Bounds on what peers can make the server hold.
    pub limits: Limits,
    /// How long a lease or oplock break may stay unacknowledged before the
    /// lease is taken to NONE (35 s in Windows, Samba and ksmbd).
    pub break_timeout: Duration,
    /// SMB2/3 server identity, shares, users and NEGOTIATE parameters.
    pub smb: SmbConfig,
    /// NFSv3 exports and the port MOUNT and NFS are reached on.
    pub nfs: NfsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            // 2026-01-01T00:00:00Z: a fixed default keeps tests deterministic.
            wall_anchor: UNIX_EPOCH + Duration::from_secs(1_767_225_600),
            limits: Limits::default(),
            break_timeout: Duration::from_secs(35),
            smb: SmbConfig::default(),
            nfs: NfsConfig::default(),
        }
    }
}

/// Bounds on everything a peer can make the server hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest SMB message or ONC RPC record accepted, in bytes (the SMB2
    /// message without its 4-byte Direct-TCP header; the RPC record without
    /// its record marks). A larger one closes the connection unanswered.
    /// This is what bounds an SMB WRITE's payload.
    pub max_frame: usize,
    /// SMB connections open at once; past it
    /// [`Server::accept`](crate::Server::accept) refuses an SMB connection
    /// with [`AcceptError::ProtocolLimit`](crate::AcceptError::ProtocolLimit).
    pub max_smb_connections: usize,
    /// NFS connections open at once (MOUNT, NFS and portmapper share them),
    /// refused the same way past it. Kept apart from the SMB cap so that
    /// idle or hostile NFS sockets cannot lock SMB clients out, nor the
    /// other way round.
    pub max_nfs_connections: usize,
    /// Connections open at once, both protocols together: a ceiling over the
    /// two caps above, refused with
    /// [`AcceptError::TooManyConnections`](crate::AcceptError::TooManyConnections).
    /// Its default is their sum, so it never binds first. It was the only
    /// cap before the per-protocol ones; a configuration that still sets
    /// just this field keeps bounding the total, and anything below the sum
    /// lets one protocol fill slots the other then lacks.
    pub max_connections: usize,
    /// An NFS connection on which nothing arrived for this long, with no
    /// call parked or waiting for storage, is closed (clients reconnect and
    /// retransmit). The default is 6 minutes, Linux nfsd's
    /// `svc_conn_age_period` in net/sunrpc/svc_xprt.c: a minute longer than
    /// the 5 minutes after which the Linux client drops an idle connection
    /// itself, so that a well-behaved client closes first. `None` (or
    /// zero): never.
    pub nfs_idle_timeout: Option<Duration>,
    /// Requests a connection may have in progress at once (SMB async
    /// operations, NFS parked calls). Past it an SMB request that would go
    /// async fails with STATUS_INSUFFICIENT_RESOURCES, and an NFS call that
    /// would park is answered NFS3ERR_JUKEBOX instead.
    pub max_outstanding_per_conn: usize,
    /// NFS calls parked waiting for lease breaks, across the server; past it
    /// further calls that need a break are answered NFS3ERR_JUKEBOX.
    pub max_parked: usize,
    /// Open files (and pipes) per SMB session; past it CREATE fails with
    /// STATUS_INSUFFICIENT_RESOURCES.
    pub max_opens_per_session: usize,
    /// Entries one directory query may return: one SMB QUERY_DIRECTORY
    /// response (also capped at 4096 and by what its OutputBufferLength can hold)
    /// or one NFS READDIR/READDIRPLUS reply.
    pub max_dir_entries: usize,
    /// An SMB connection that has not completed SESSION_SETUP this long
    /// after it was accepted is closed.
    pub unauthenticated_timeout: Duration,
    /// Storage requests handed to the adapter and not yet completed; more
    /// wait their turn in the core and are never dropped (see
    /// [`IoRequest`](crate::IoRequest)).
    pub max_io_in_flight: usize,
    /// Idle read buffers kept for reuse, in bytes.
    pub io_buffer_pool: usize,
    /// SMB durable opens kept across the server for a client that lost its
    /// connection (MS-SMB2 3.3.7.1); past it a disconnected durable open is
    /// closed like any other.
    pub max_preserved_opens: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame: 16 * 1024 * 1024 + 4096,
            max_smb_connections: 1024,
            max_nfs_connections: 1024,
            max_connections: 2048,
            nfs_idle_timeout: Some(Duration::from_secs(6 * 60)),
            max_outstanding_per_conn: 512,
            max_parked: 4096,
            max_opens_per_session: 16_384,
            max_dir_entries: 65_536,
            unauthenticated_timeout: Duration::from_secs(60),
            max_io_in_flight: 64,
            io_buffer_pool: 64 << 20,
            max_preserved_opens: 4096,
        }
    }
}

/// An SMB account, checked with NTLMv2 (MS-NLMP 3.2.5.1.2).
///
/// The server keeps only the account's NT hash, never its password: NTLMv2
/// needs nothing else (NTOWFv2 is keyed by the NT hash, MS-NLMP 3.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Account name, compared case-insensitively with the NTLM UserName.
    pub name: String,
    /// MD4 of the UTF-16LE password (NTOWFv1, MS-NLMP 3.3.1). A client
    /// proving an empty password for a user that has one logs on as guest
    /// (when [`SmbConfig::guest`] allows it).
    pub nt_hash: NtHash,
    /// The Unix user the account acts as.
    pub uid: u32,
    /// The account's primary Unix group.
    pub gid: u32,
    /// Supplementary Unix groups.
    pub groups: Vec<u32>,
}

impl User {
    /// An account with this password, acting as `nobody` (uid and gid
    /// 65534) until [`User::with_ids`] says otherwise.
    pub fn new(name: impl Into<String>, password: &str) -> Self {
        Self { name: name.into(), nt_hash: NtHash::from_password(password), uid: 65534, gid: 65534, groups: Vec::new() }
    }

    /// The same account acting as `uid`, primary group `gid` and the
    /// supplementary `groups`.
    pub fn with_ids(mut self, uid: u32, gid: u32, groups: Vec<u32>) -> Self {
        self.uid = uid;
        self.gid = gid;
        self.groups = groups;
        self
    }
}

/// An NT hash: MD4 over the UTF-16LE password (MS-NLMP 3.3.1 NTOWFv1).
/// Password-equivalent for NTLM, so its `Debug` shows nothing of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NtHash([u8; 16]);

impl NtHash {
    /// The hash of `password`.
    pub fn from_password(password: &str) -> Self {
        use md4::{Digest, Md4};
        let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
        Self(Md4::digest(&utf16).into())
    }

    /// A hash stored earlier (a user database keeps these, not passwords).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Whether this is the hash of the empty password.
    pub fn is_empty_password(&self) -> bool {
        *self == Self::from_password("")
    }
}

impl std::fmt::Debug for NtHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NtHash(..)")
    }
}

/// An SMB disk share, reached by TREE_CONNECT (IPC$ is built in and not
/// listed here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The share name clients connect to (`\\server\NAME`), matched
    /// case-insensitively.
    pub name: String,
    /// Directory inside the Vfs that the share exposes ("/" for the root).
    pub path: String,
    /// Grants only read access: the tree's MaximalAccess (MS-SMB2 2.2.10)
    /// excludes write rights, so opens asking for them get
    /// STATUS_ACCESS_DENIED.
    pub read_only: bool,
    /// Whether guest and anonymous sessions may connect.
    pub guest_ok: bool,
    /// Guest and anonymous sessions get read access only (as `read_only`
    /// does for everyone); users keep what the file modes grant them.
    pub guest_read_only: bool,
    /// Mode of files created over SMB (0664 by default, so that the
    /// creator's group can share them); ANDed with nothing else (SMB sends
    /// no mode).
    pub create_mask: u32,
    /// Mode of directories created over SMB (0775 by default).
    pub directory_mask: u32,
    /// Share.EncryptData (MS-SMB2 3.3.1.6): TREE_CONNECT answers
    /// SMB2_SHAREFLAG_ENCRYPT_DATA, every request on the tree must come
    /// encrypted (an unencrypted one fails with STATUS_ACCESS_DENIED) and
    /// every response goes encrypted. A client that cannot encrypt (SMB 2.x,
    /// or 3.x without a cipher), and a guest or anonymous session, is
    /// refused at TREE_CONNECT with STATUS_ACCESS_DENIED.
    pub encrypt: bool,
}

impl Share {
    /// A writable share of Vfs directory `path`, guests allowed, with the
    /// default create masks.
    pub fn new(name: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            read_only: false,
            guest_ok: true,
            guest_read_only: false,
            create_mask: 0o664,
            directory_mask: 0o775,
            encrypt: false,
        }
    }
}

/// A test-only hook told the keys of every encrypted session
/// ([`SmbConfig::session_key_export`]). Its Debug form shows nothing else.
#[derive(Clone)]
pub struct SessionKeyExport(pub std::sync::Arc<dyn Fn(SessionKeys<'_>) + Send + Sync>);

/// What [`SessionKeyExport`] is told about one session.
#[derive(Clone, Copy)]
pub struct SessionKeys<'a> {
    /// The SessionId, as in SMB2 headers.
    pub session_id: u64,
    /// Session.SessionKey.
    pub session_key: &'a [u8],
    /// Session.EncryptionKey: server to client.
    pub server_to_client: &'a [u8],
    /// Session.DecryptionKey: client to server.
    pub client_to_server: &'a [u8],
}

impl SessionKeyExport {
    /// Tells the hook about one session.
    pub fn export(&self, session_id: u64, session_key: &[u8], server_to_client: &[u8], client_to_server: &[u8]) {
        (self.0)(SessionKeys { session_id, session_key, server_to_client, client_to_server });
    }
}

impl std::fmt::Debug for SessionKeys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys").field("session_id", &self.session_id).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SessionKeyExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeyExport")
    }
}

/// The SMB2/3 side of the server.
#[derive(Debug, Clone)]
pub struct SmbConfig {
    /// NetBIOS computer name, sent in the NTLM CHALLENGE target info
    /// (MS-NLMP 2.2.1.2) and returned by srvsvc; "POLYSHARE" when empty.
    pub server_name: String,
    /// NetBIOS domain name in the NTLM CHALLENGE target info; the server
    /// name when empty.
    pub domain: String,
    /// The disk shares offered.
    pub shares: Vec<Share>,
    /// Accounts that can authenticate.
    pub users: Vec<User>,
    /// Map unknown users and empty passwords to guest, and accept anonymous
    /// (empty user name) logons; when false those fail with
    /// STATUS_LOGON_FAILURE.
    pub guest: bool,
    /// Sets SMB2_NEGOTIATE_SIGNING_REQUIRED in the SecurityMode of the
    /// NEGOTIATE response (MS-SMB2 2.2.4), requires signing on every
    /// session whatever the client asked for (unsigned requests fail with
    /// STATUS_ACCESS_DENIED), and refuses guest and anonymous logons, which
    /// cannot sign (STATUS_LOGON_FAILURE), as Windows does.
    pub require_signing: bool,
    /// Global EncryptData with RejectUnencryptedAccess (MS-SMB2 3.3.3):
    /// every session is encrypted (SMB2_SESSION_FLAG_ENCRYPT_DATA) and
    /// every share behaves as [`Share::encrypt`]. A client that cannot
    /// encrypt fails SESSION_SETUP with STATUS_ACCESS_DENIED, and so do guest
    /// and anonymous logons, which have no key (as with smbd's `server smb
    /// encrypt = required`).
    pub require_encryption: bool,
    /// IsMultiChannelCapable (MS-SMB2 3.3.3): offer
    /// SMB2_GLOBAL_CAP_MULTI_CHANNEL on 3.x dialects and let a session bind
    /// further connections (channels, 3.3.5.5). On by default; off, a
    /// binding SESSION_SETUP fails with STATUS_REQUEST_NOT_ACCEPTED.
    pub multichannel: bool,
    /// The server's network interfaces, one entry per address clients may
    /// reach it at, answered to FSCTL_QUERY_NETWORK_INTERFACE_INFO (MS-SMB2
    /// 3.3.5.15.11) so that a multichannel client can open more channels.
    /// The core cannot look (no sockets): the adapter fills it from the
    /// addresses its SMB listeners are bound to
    /// (`polyshare_runtime::interfaces`) unless the embedder set it.
    /// Empty: the FSCTL answers STATUS_NOT_SUPPORTED.
    pub interfaces: Vec<NetworkInterface>,
    /// For tests only, and never set by default: told each encrypted
    /// session's id and keys, so that a capture can be decrypted (tshark's
    /// `smb2_seskey_list`). Whoever sets it holds every session's secrets.
    pub session_key_export: Option<SessionKeyExport>,
    /// MaxReadSize of the NEGOTIATE response (MS-SMB2 2.2.4), in bytes.
    /// Advertised as at least 1 MiB (clamped to 1..=64 KiB for SMB 2.0.2); a
    /// READ asking for more than the connection was told fails with
    /// STATUS_INVALID_PARAMETER.
    pub max_read_size: u32,
    /// MaxWriteSize of the NEGOTIATE response (MS-SMB2 2.2.4), in bytes, with
    /// the same clamping as `max_read_size`; a WRITE carrying more fails with
    /// STATUS_INVALID_PARAMETER (and a message is never larger than
    /// [`Limits::max_frame`]).
    pub max_write_size: u32,
    /// MaxTransactSize of the NEGOTIATE response (MS-SMB2 2.2.4), in bytes,
    /// clamped like `max_read_size`. A QUERY_DIRECTORY or QUERY_INFO whose
    /// output buffer exceeds it (or 64 KiB, whichever is larger), or a
    /// CHANGE_NOTIFY whose buffer exceeds it, fails with
    /// STATUS_INVALID_PARAMETER; pipe transceive output is cut to it.
    pub max_transact_size: u32,
    /// Credits a connection may hold at once (MS-SMB2 3.3.1.2): grants stop
    /// there, except that a client holding none always gets one.
    pub max_credits: u16,
    /// Offer directory leases: SMB2_GLOBAL_CAP_DIRECTORY_LEASING on SMB
    /// 3.x and R or RH leases on directory opens, broken by any change to
    /// a directory's children from SMB or NFS (docs/LEASES.md "Directory
    /// leases"). Off: directory lease requests get no lease.
    pub directory_leasing: bool,
    /// The Unix user guest and anonymous sessions act as: they own what
    /// they create and are checked against file modes as this uid. The
    /// default is the identity NFS root-squashes to (65534), so that guests
    /// on both protocols are the same user. (Configured users carry their
    /// own ids, [`User::uid`].)
    pub guest_uid: u32,
    /// The primary group of guest and anonymous sessions (see `guest_uid`).
    pub guest_gid: u32,
    /// How long a durable open outlives its connection (Open.DurableOpenTimeout,
    /// MS-SMB2 3.3.5.9.6): every v1 durable open, and a v2 one whose request
    /// asks for Timeout 0. 60 s, as Samba and Windows Server 2012 use.
    pub durable_timeout: Duration,
    /// The longest Timeout a v2 durable request is granted; a longer one is
    /// answered with this (MS-SMB2 3.3.5.9.10: 300 s, the default, which
    /// is also what Samba answers).
    pub durable_timeout_max: Duration,
}

impl Default for SmbConfig {
    fn default() -> Self {
        Self {
            server_name: "POLYSHARE".into(),
            domain: "WORKGROUP".into(),
            shares: vec![Share::new("share", "/")],
            users: Vec::new(),
            guest: true,
            require_signing: false,
            require_encryption: false,
            multichannel: true,
            interfaces: Vec::new(),
            session_key_export: None,
            max_read_size: 8 * 1024 * 1024,
            max_write_size: 8 * 1024 * 1024,
            max_transact_size: 8 * 1024 * 1024,
            max_credits: 8192,
            directory_leasing: true,
            guest_uid: 65534,
            guest_gid: 65534,
            durable_timeout: Duration::from_secs(60),
            durable_timeout_max: Duration::from_secs(300),
        }
    }
}

/// One address of one of the server's network interfaces (MS-SMB2
/// 2.2.32.5 NETWORK_INTERFACE_INFO).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkInterface {
    /// The interface's index (IfIndex), the same for each of its
    /// addresses; never 0 (3.3.5.15.11 leaves such an interface out).
    pub if_index: u32,
    /// The address (IPv4 or IPv6) clients connect to.
    pub addr: std::net::IpAddr,
    /// Link speed in bits per second (LinkSpeed).
    pub link_speed: u64,
    /// RSS_CAPABLE: the interface spreads receive work over several CPUs.
    pub rss_capable: bool,
}

/// What a running server can be told to change
/// ([`Server::handle_reconfigure`](crate::Server::handle_reconfigure), an
/// administrator's reload): the shares, the exports and the accounts. The
/// rest of [`Config`] stays as the server was built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconfigure {
    /// The shares from now on. A share is the same share when its name
    /// (case-insensitively) and its path are unchanged: its tree connects
    /// and opens go on, under its new options from their next request (a
    /// write on a share made read-only answers STATUS_ACCESS_DENIED), unless
    /// the share now refuses the session (guests, encryption). The trees of
    /// any other share that was connected are disconnected (their opens
    /// closed), and their next request answers STATUS_NETWORK_NAME_DELETED.
    pub shares: Vec<Share>,
    /// The exports from now on. An export keeps its handles when its name
    /// stays (its new settings apply); the handles of a removed one answer
    /// NFS3ERR_STALE, also once a new export has taken its slot (under a
    /// new epoch, which handles carry).
    pub exports: Vec<Export>,
    /// The accounts from now on. The sessions of an account no longer
    /// listed end (as by LOGOFF); a changed password applies to the next
    /// logon.
    pub users: Vec<User>,
}

/// How an NFS operation waits for an SMB lease break (docs/LEASES.md "How NFS waits").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NfsBreakPolicy {
    /// Park the RPC until every blocking break resolves.
    #[default]
    Wait,
    /// Send the break and answer NFS3ERR_JUKEBOX at once.
    Jukebox,
}

/// Which AUTH_SYS identities an export replaces with its anonymous uid and
/// gid (`root_squash`, `all_squash`, `no_root_squash` in exports(5)).
/// AUTH_NONE calls are always anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Squash {
    /// Map uid 0 to the anonymous uid, and gid 0 (primary or supplementary)
    /// to the anonymous gid.
    #[default]
    Root,
    /// Map every uid to the anonymous ids.
    All,
    /// Trust AUTH_SYS credentials as sent: uid 0 bypasses permission checks.
    None,
}

/// A client address range: `addr` with `prefix` leading bits significant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    /// The network address; bits past `prefix` are ignored.
    pub addr: IpAddr,
    /// Leading bits of `addr` that must match (CIDR prefix length: 0 matches
    /// the whole family, 32 or 128 one host).
    pub prefix: u8,
}

impl AddrRange {
    /// Whether `ip` lies in the range. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`) is compared as IPv4; otherwise IPv4 and IPv6 never
    /// match each other.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bytes: &[u8], prefix: u8) -> Vec<u8> {
            let mut out = bytes.to_vec();
            let mut bits = prefix as usize;
            for b in out.iter_mut() {
                if bits >= 8 {
                    bits -= 8;
                } else {
                    *b &= !(0xffu8.checked_shr(bits as u32).unwrap_or(0));
                    bits = 0;
                }
            }
            out
        }
        let (a, b) = match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (a.octets().to_vec(), b.octets().to_vec()),
            (IpAddr::V6(a), IpAddr::V6(b)) => (a.octets().to_vec(), b.octets().to_vec()),
            _ => return false,
        };
        masked(&a, self.prefix) == masked(&b, self.prefix)
    }
}

/// An NFSv3 export. File handles carry the export's index in
/// [`NfsConfig::exports`] (one byte), so reordering exports invalidates the
/// handles clients hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The dirpath clients mount (`/share`). MNT (RFC 1813 5.2.1) of a path
    /// below it mounts that subdirectory.
    pub name: String,
    /// Directory inside the Vfs that the export exposes.
    pub path: String,
    /// Operations that modify the file system (SETATTR, WRITE, CREATE,
    /// MKDIR, REMOVE, RENAME, ...) answer NFS3ERR_ROFS, and ACCESS reports no
    /// write rights.
    pub read_only: bool,
    /// Client addresses allowed to mount and use the export; empty = any.
    /// Others get MNT3ERR_ACCES from MNT and NFS3ERR_ACCES for every handle
    /// of the export.
    pub allowed: Vec<AddrRange>,
    /// Take calls only from reserved source ports (below 1024, which only
    /// root can bind), like knfsd's `secure`: from another port MNT answers
    /// MNT3ERR_ACCES (as rpc.mountd does) and every NFS call with a handle
    /// of the export NFS3ERR_PERM (as knfsd does). Default false (knfsd's
    /// `insecure`), because userspace clients such as libnfs, and clients
    /// behind NAT, use high ports.
    pub secure: bool,
    /// Which caller identities are replaced with `anon_uid`/`anon_gid`.
    pub squash: Squash,
    /// uid that squashed and AUTH_NONE callers act as (65534, "nobody").
    pub anon_uid: u32,
    /// gid that squashed and AUTH_NONE callers act as (65534, "nogroup").
    pub anon_gid: u32,
    /// What an NFS call does when it needs an SMB lease break first.
    pub policy: NfsBreakPolicy,
    /// How long a call of this export parked behind a break (policy
    /// `Wait`) waits for its acknowledgment before the lease is taken to
    /// NONE, as at [`Config::break_timeout`]; `None`: that server-wide
    /// timeout. Only shortens: a break keeps the earliest deadline asked.
    pub break_timeout: Option<Duration>,
}

impl Default for Export {
    fn default() -> Self {
        Self {
            name: "/share".into(),
            path: "/".into(),
            read_only: false,
            allowed: Vec::new(),
            secure: false,
            squash: Squash::Root,
            anon_uid: 65534,
            anon_gid: 65534,
            policy: NfsBreakPolicy::Wait,
            break_timeout: None,
        }
    }
}

/// The NFSv3 side of the server (NFS, MOUNT and portmapper on one port).
#[derive(Debug, Clone)]
pub struct NfsConfig {
    /// The exports, in the order MOUNT EXPORT lists them and MNT matches
    /// dirpaths against them (first match wins). At most 256: handles store
    /// the index in one byte.
    pub exports: Vec<Export>,
    /// The port reported by portmapper GETPORT for NFS and MOUNT (the adapter
    /// fills it with the port it listens on).
    pub port: u16,
}

impl Default for NfsConfig {
    fn default() -> Self {
        Self { exports: vec![Export::default()], port: 2049 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_range_matches_prefix() {
        let r = AddrRange { addr: "10.1.0.0".parse().unwrap(), prefix: 16 };
        assert!(r.contains("10.1.200.3".parse().unwrap()));
        assert!(!r.contains("10.2.0.1".parse().unwrap()));
        let one = AddrRange { addr: "127.0.0.1".parse().unwrap(), prefix: 32 };
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
    }
}
