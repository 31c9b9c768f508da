//! The core's one deadline table, and the wall clock derived from the caller's
//! instants.
//!
//! The server's timers (unauthenticated-connection timeouts, NFS idle
//! timeouts, SMB's delayed last-write times, embedder timers) are entries
//! here keyed by what they are for; the lease table keeps its break
//! deadlines itself. Nothing polls: the
//! adapter sleeps until [`Timers::next`] and the server fires what is due.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::id::ConnId;

/// What a deadline is for. Each key has at most one deadline at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKey {
    /// A connection that has not authenticated in time.
    Unauthenticated(ConnId),
    /// An NFS connection idle for `limits.nfs_idle_timeout`.
    NfsIdle(ConnId),
    /// The delayed last-write time update of the SMB open with this
    /// FileId.Volatile (smb/write_time.rs).
    WriteTime(u64),
    /// A generic timer for tests and embedders.
    User(u64),
}

/// A deadline table ordered by instant, then by insertion order, so that two
/// deadlines at the same instant fire in the order they were set.
#[derive(Debug, Default)]
pub struct Timers {
    by_time: BTreeMap<(Instant, u64), TimerKey>,
    by_key: BTreeMap<TimerKey, (Instant, u64)>,
    seq: u64,
}

impl Timers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or moves) the deadline of `key` to `at`.
    pub fn set(&mut self, key: TimerKey, at: Instant) {
        self.cancel(key);
        self.seq += 1;
        self.by_time.insert((at, self.seq), key);
        self.by_key.insert(key, (at, self.seq));
    }

    /// Removes the deadline of `key`; returns whether one was set.
    pub fn cancel(&mut self, key: TimerKey) -> bool {
        match self.by_key.remove(&key) {
            Some(slot) => {
                self.by_time.remove(&slot);
                true
            }
            None => false,
        }
    }

    pub fn deadline(&self, key: TimerKey) -> Option<Instant> {
        self.by_key.get(&key).map(|(at, _)| *at)
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.by_time.keys().next().map(|(at, _)| *at)
    }

    /// Removes and returns the earliest deadline that is due at `now`
    /// (deadline <= now). Call until `None` to fire everything due, in order.
    pub fn pop_due(&mut self, now: Instant) -> Option<TimerKey> {
        let (&slot, &key) = self.by_time.iter().next()?;
        if slot.0 > now {
            return None;
        }
        self.by_time.remove(&slot);
        self.by_key.remove(&key);
        Some(key)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (TimerKey, Instant)> + '_ {
        self.by_key.iter().map(|(k, (at, _))| (*k, *at))
    }
}

/// Converts the caller's monotonic instants into wall-clock time: the anchor
/// is the wall-clock time at `start`, and wall(now) = anchor + (now - start).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    anchor: SystemTime,
}

/// Seconds and nanoseconds since the Unix epoch (may be negative for
/// pre-1970 times set by clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timespec {
    /// Whole seconds since 1970-01-01T00:00:00Z; negative before it.
    pub secs: i64,
    /// Nanoseconds added to `secs` (always forward in time), below
    /// 1_000_000_000.
    pub nanos: u32,
}

/// 100 ns intervals between 1601-01-01 and 1970-01-01.
const FILETIME_UNIX_OFFSET: i128 = 116_444_736_000_000_000;

impl Timespec {
    /// `secs` seconds and `nanos` nanoseconds after the epoch; `nanos` must
    /// be below 1_000_000_000 (not checked).
    pub const fn new(secs: i64, nanos: u32) -> Self {
        Self { secs, nanos }
    }

    /// Saturates at the ends of `i64` seconds: `SystemTime` on some platforms
    /// reaches further than a `Timespec` does.
    pub fn from_system(t: SystemTime) -> Self {
        let nanos: i128 = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        let secs = nanos.div_euclid(1_000_000_000);
        match i64::try_from(secs) {
            Ok(secs) => Self::new(secs, nanos.rem_euclid(1_000_000_000) as u32),
            Err(_) if secs < 0 => Self::new(i64::MIN, 0),
            Err(_) => Self::new(i64::MAX, 999_999_999),
        }
    }

    /// MS-DTYP FILETIME: 100 ns intervals since 1601-01-01 UTC.
    pub fn to_filetime(self) -> u64 {
        let t = self.secs as i128 * 10_000_000 + (self.nanos / 100) as i128 + FILETIME_UNIX_OFFSET;
        t.clamp(0, u64::MAX as i128) as u64
    }

    /// The inverse of [`Timespec::to_filetime`]: a MS-DTYP FILETIME (100 ns
    /// intervals since 1601-01-01 UTC), exact to the 100 ns.
    pub fn from_filetime(ft: u64) -> Self {
        let t = ft as i128 - FILETIME_UNIX_OFFSET;
        let secs = t.div_euclid(10_000_000) as i64;
        let nanos = (t.rem_euclid(10_000_000) * 100) as u32;
        Self::new(secs, nanos)
    }
}

impl Clock {
    pub fn new(start: Instant, anchor: SystemTime) -> Self {
        Self { start, anchor }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// Wall-clock time at `now`. Instants before `start` map to the anchor.
    pub fn wall(&self, now: Instant) -> Timespec {
        let since = now.saturating_duration_since(self.start);
        let t = self.anchor.checked_add(since).unwrap_or(self.anchor + Duration::ZERO);
        Timespec::from_system(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_order_and_only_when_due() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        timers.set(TimerKey::User(2), t0 + Duration::from_secs(2));
        timers.set(TimerKey::User(1), t0 + Duration::from_secs(1));
        timers.set(TimerKey::User(3), t0 + Duration::from_secs(2));
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(timers.pop_due(t0), None);
        let due: Vec<_> = std::iter::from_fn(|| timers.pop_due(t0 + Duration::from_secs(2))).collect();
        assert_eq!(due, vec![TimerKey::User(1), TimerKey::User(2), TimerKey::User(3)]);
        assert!(timers.is_empty());
    }

    #[test]
    fn set_moves_and_cancel_removes() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        timers.set(TimerKey::User(1), t0 + Duration::from_secs(5));
        timers.set(TimerKey::User(1), t0 + Duration::from_secs(9));
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.deadline(TimerKey::User(1)), Some(t0 + Duration::from_secs(9)));
        assert!(timers.cancel(TimerKey::User(1)));
        assert!(!timers.cancel(TimerKey::User(1)));
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn filetime_round_trip() {
        let t = Timespec::new(1_700_000_000, 123_456_700);
        assert_eq!(Timespec::from_filetime(t.to_filetime()), t);
        assert_eq!(Timespec::new(0, 0).to_filetime(), 116_444_736_000_000_000);
        assert_eq!(Timespec::from_filetime(0).secs, -11_644_473_600);
    }

    #[test]
    fn wall_clock_follows_the_callers_instants() {
        let t0 = Instant::now();
        let clock = Clock::new(t0, UNIX_EPOCH + Duration::from_secs(1_000));
        assert_eq!(clock.wall(t0), Timespec::new(1_000, 0));
        assert_eq!(clock.wall(t0 + Duration::from_millis(1500)), Timespec::new(1_001, 500_000_000));
    }

    /// Regression (fuzz/record_decode): an anchor at the earliest instant a
    /// `SystemTime` holds used to overflow when negated.
    #[test]
    fn system_times_at_the_edges_convert() {
        let before = UNIX_EPOCH - Duration::new(5, 7);
        assert_eq!(Timespec::from_system(before), Timespec::new(-6, 999_999_993));
        if let Some(min) = UNIX_EPOCH.checked_sub(Duration::from_secs(1 << 63)) {
            assert_eq!(Timespec::from_system(min), Timespec::new(i64::MIN, 0));
        }
        if let Some(max) = UNIX_EPOCH.checked_add(Duration::new(i64::MAX as u64, 999_999_999)) {
            assert_eq!(Timespec::from_system(max), Timespec::new(i64::MAX, 999_999_999));
        }
    }
}
