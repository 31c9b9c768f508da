//! How long each request took, by protocol and command: from the moment the
//! adapter read it off the socket (or, when it does not say, the moment the
//! core was handed it) to the moment the core queued its final reply.
//!
//! The core reads no clock: both ends are instants the adapter passed in
//! (the `now` of the call that queued the reply). A request answered within
//! the call that delivered it therefore measures the time it waited between
//! the socket and the core (the adapter's event queue, other connections'
//! work ahead of it); one that waited for storage, a lease break or a lock
//! also measures that wait. An interim response (STATUS_PENDING) does not
//! end a request; requests that get no reply at all are forgotten, and so
//! are a closed connection's.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::id::{ConnId, Protocol};
use crate::stats::Stats;

/// Requests timed at once, across connections; past it new requests go
/// untimed (counted, never measured) until replies make room.
const MAX_TIMED: usize = 1 << 16;

/// Requests awaiting their final reply, and the instants of the call being
/// handled.
#[derive(Debug, Default)]
pub(crate) struct RequestTimes {
    /// (connection, SMB MessageId or RPC xid) → (command index, start).
    open: BTreeMap<(ConnId, u64), (usize, Instant)>,
    /// The `now` of the call being handled.
    now: Option<Instant>,
    /// When the adapter read the message being handled, if it said.
    received: Option<Instant>,
}

impl RequestTimes {
    /// A call into the core at `now` begins; messages it handles were
    /// received now unless [`RequestTimes::received_at`] says otherwise.
    pub(crate) fn turn(&mut self, now: Instant) {
        self.now = Some(now);
        self.received = None;
    }

    /// The message being handled was read off the socket at `at` (never
    /// later than the call's `now`).
    pub(crate) fn received_at(&mut self, at: Instant) {
        self.received = Some(self.now.map_or(at, |now| at.min(now)));
    }

    /// Request `id` (command index `command`) arrived on `conn`.
    pub(crate) fn begin(&mut self, conn: ConnId, id: u64, command: usize) {
        let Some(start) = self.received.or(self.now) else { return };
        if self.open.len() < MAX_TIMED || self.open.contains_key(&(conn, id)) {
            self.open.insert((conn, id), (command, start));
        }
    }

    /// Request `id` on `conn` will get no reply.
    pub(crate) fn forget(&mut self, conn: ConnId, id: u64) {
        self.open.remove(&(conn, id));
    }

    /// The final reply to request `id` on `conn`, a connection speaking
    /// `protocol`, was queued: its duration goes to `stats`.
    pub(crate) fn end(&mut self, conn: ConnId, protocol: Protocol, id: u64, stats: &mut Stats) {
        let (Some((command, start)), Some(now)) = (self.open.remove(&(conn, id)), self.now) else { return };
        let d = now.saturating_duration_since(start);
        let histogram = match protocol {
            Protocol::Smb => stats.smb_latency.get_mut(command),
            Protocol::Nfs => stats.nfs_latency.get_mut(command),
        };
        if let Some(h) = histogram {
            h.observe(d);
        }
    }

    /// `conn` closed: its unanswered requests are forgotten.
    pub(crate) fn closed(&mut self, conn: ConnId) {
        let mut rest = self.open.split_off(&(conn, 0));
        // `rest` begins with `conn`'s own requests; what follows them stays.
        if let Some(next) = rest.keys().find(|(c, _)| *c != conn).copied() {
            self.open.append(&mut rest.split_off(&next));
        }
    }

    /// Requests timed now (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::WAIT_BUCKETS;

    fn bucket(d: Duration) -> usize {
        WAIT_BUCKETS.iter().position(|b| d.as_secs_f64() <= *b).unwrap_or(WAIT_BUCKETS.len())
    }

    #[test]
    fn a_request_is_timed_from_its_receipt_to_its_final_reply() {
        let t0 = Instant::now();
        let mut t = RequestTimes::default();
        let mut stats = Stats::default();
        t.turn(t0 + Duration::from_millis(3));
        t.received_at(t0);
        t.begin(ConnId(1), 7, 8);
        // Answered two calls later, after storage: 20 ms after receipt.
        t.turn(t0 + Duration::from_millis(20));
        t.end(ConnId(1), Protocol::Smb, 7, &mut stats);
        let h = stats.smb_latency[8];
        assert_eq!((h.count(), h.sum), (1, Duration::from_millis(20)));
        assert_eq!(h.counts[bucket(Duration::from_millis(20))], 1);
        // A second end of the same request measures nothing.
        t.end(ConnId(1), Protocol::Smb, 7, &mut stats);
        assert_eq!(stats.smb_latency[8].count(), 1);
        assert_eq!(stats.nfs_latency.iter().map(|h| h.count()).sum::<u64>(), 0);
    }

    #[test]
    fn a_receipt_stamp_after_the_call_is_clamped_to_the_call() {
        let t0 = Instant::now();
        let mut t = RequestTimes::default();
        let mut stats = Stats::default();
        t.turn(t0);
        t.received_at(t0 + Duration::from_secs(1));
        t.begin(ConnId(2), 1, 6);
        t.end(ConnId(2), Protocol::Nfs, 1, &mut stats);
        assert_eq!((stats.nfs_latency[6].count(), stats.nfs_latency[6].sum), (1, Duration::ZERO));
    }

    #[test]
    fn a_closed_connection_forgets_only_its_own_requests() {
        let t0 = Instant::now();
        let mut t = RequestTimes::default();
        t.turn(t0);
        for conn in 1..=3 {
            for id in [0, 5, u64::MAX] {
                t.begin(ConnId(conn), id, 0);
            }
        }
        t.forget(ConnId(1), 5);
        assert_eq!(t.len(), 8);
        t.closed(ConnId(2));
        assert_eq!(t.len(), 5);
        let mut stats = Stats::default();
        t.turn(t0 + Duration::from_millis(1));
        t.end(ConnId(2), Protocol::Smb, 0, &mut stats);
        t.end(ConnId(3), Protocol::Smb, u64::MAX, &mut stats);
        t.end(ConnId(1), Protocol::Smb, 0, &mut stats);
        assert_eq!(stats.smb_latency[0].count(), 2);
    }
}
