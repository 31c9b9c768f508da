//! Counters the embedding program can read (`Server::stats`).

use std::time::Duration;

/// The SMB2 commands by code (MS-SMB2 2.2.1.2), the index of
/// [`Stats::smb_requests`].
pub const SMB_COMMANDS: [&str; 19] = [
    "NEGOTIATE",
    "SESSION_SETUP",
    "LOGOFF",
    "TREE_CONNECT",
    "TREE_DISCONNECT",
    "CREATE",
    "CLOSE",
    "FLUSH",
    "READ",
    "WRITE",
    "LOCK",
    "IOCTL",
    "CANCEL",
    "ECHO",
    "QUERY_DIRECTORY",
    "CHANGE_NOTIFY",
    "QUERY_INFO",
    "SET_INFO",
    "OPLOCK_BREAK",
];

/// The NFSv3 procedures by number (RFC 1813 section 3.3), the index of
/// [`Stats::nfs_calls`].
pub const NFS3_PROCEDURES: [&str; 22] = [
    "NULL",
    "GETATTR",
    "SETATTR",
    "LOOKUP",
    "ACCESS",
    "READLINK",
    "READ",
    "WRITE",
    "CREATE",
    "MKDIR",
    "SYMLINK",
    "MKNOD",
    "REMOVE",
    "RMDIR",
    "RENAME",
    "LINK",
    "READDIR",
    "READDIRPLUS",
    "FSSTAT",
    "FSINFO",
    "PATHCONF",
    "COMMIT",
];

/// Request, traffic, connection, lease-break and parking counters,
/// cumulative since the server started; for monitoring, never read by the
/// core itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// CREATEs granted caching: a lease (not NONE) or an oplock.
    pub leases_granted: u64,
    /// Lease and oplock break notifications sent.
    pub breaks_sent: u64,
    /// Breaks acknowledged by their holder.
    pub breaks_acked: u64,
    /// Breaks that reached the break timeout.
    pub breaks_timed_out: u64,
    /// Operations (SMB CREATE, NFS calls) parked behind a break.
    pub ops_parked: u64,
    /// Total time operations spent parked.
    pub time_parked: Duration,
    /// NFS calls answered NFS3ERR_JUKEBOX because of a break.
    pub nfs_jukebox: u64,
    /// NFS connections closed after `limits.nfs_idle_timeout` of idleness.
    pub nfs_idle_closed: u64,
    /// SMB durable opens kept after their connection or session ended.
    pub durable_preserved: u64,
    /// Preserved durable opens their client took back (DHnC, DH2C).
    pub durable_reconnected: u64,
    /// Preserved durable opens closed by their timeout or by a conflict.
    pub durable_given_up: u64,
    /// SMB2 requests received, by command code (MS-SMB2 2.2.1: 0 NEGOTIATE
    /// to 18 OPLOCK_BREAK), each message of a compound counted.
    pub smb_requests: [u64; 19],
    /// NFSv3 calls received, by procedure number (RFC 1813: 0 NULL to 21
    /// COMMIT), counted once when they arrive (not again when a parked call
    /// resumes).
    pub nfs_calls: [u64; 22],
    /// Bytes of whole messages received, SMB then NFS (framing excluded).
    pub bytes_received: [u64; 2],
    /// Bytes sent, SMB then NFS (framing included).
    pub bytes_sent: [u64; 2],
    /// Connections accepted, SMB then NFS.
    pub connections_accepted: [u64; 2],
}
