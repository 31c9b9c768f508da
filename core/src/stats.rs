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

/// Upper bounds of the [`Histogram`] buckets, in seconds: from a tenth of a
/// millisecond (a request answered at once) to past the default 35 s break
/// timeout, in 1-2.5-5 steps.
pub const WAIT_BUCKETS: [f64; 18] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 35.0, 60.0];

/// A distribution of durations over [`WAIT_BUCKETS`] (Prometheus histogram
/// semantics: `counts[i]` holds the observations at most `WAIT_BUCKETS[i]`
/// and above the bucket before; the last, those above every bound).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); one more than the bounds.
    pub counts: [u64; WAIT_BUCKETS.len() + 1],
    /// Sum of every observation.
    pub sum: Duration,
}

impl Histogram {
    /// Counts `d` in its bucket.
    pub fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = WAIT_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(WAIT_BUCKETS.len());
        self.counts[i] += 1;
        self.sum += d;
    }

    /// Adds `other`'s observations.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.sum += other.sum;
    }

    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

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
    /// How long each parked operation waited behind breaks (or a lock
    /// request behind a lock), one observation as each is woken. The
    /// durations are differences of the instants the adapter passed in:
    /// the core reads no clock.
    pub break_wait: Histogram,
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
    /// How long SMB2 requests took, by command (the index of
    /// [`Stats::smb_requests`]): from the adapter reading the request (or
    /// handing it to the core, when the adapter does not say when it read
    /// it) to the core queuing its final reply, both instants the adapter
    /// passed in. Includes waits for storage, lease breaks and locks, and
    /// time queued between the socket and the core; excludes the reply's
    /// time from the core to the socket. Requests without a reply (CANCEL,
    /// a break acknowledgment answered by nothing) are not counted.
    pub smb_latency: [Histogram; 19],
    /// How long NFSv3 calls took, by procedure (the index of
    /// [`Stats::nfs_calls`]), measured as [`Stats::smb_latency`] is; a call
    /// parked behind a break is measured once, from its arrival to its
    /// reply.
    pub nfs_latency: [Histogram; 22],
}
