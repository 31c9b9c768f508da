//! Counters the embedding program can read (`Server::stats`).

use std::time::Duration;

/// Lease-break and parking counters, cumulative since the server started;
/// for monitoring, never read by the core itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
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
}
