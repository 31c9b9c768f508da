//! Byte-range locks with Windows mandatory semantics (MS-FSA 2.1.4.10,
//! 2.1.5.8, 2.1.5.9), and the locks waiting to be granted (a lock request
//! without FailImmediately that conflicts waits until the conflicting
//! locks go, MS-FSA 2.1.5.8).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::open::{FileKey, OpenId};
use crate::id::WaitToken;

/// Locks one file may carry; more is refused (bounds peer-driven memory).
pub const MAX_LOCKS_PER_FILE: usize = 65_536;

/// A granted lock (MS-FSA 2.1.1.4 ByteRangeLock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRangeLock {
    /// The open that took the lock: only it may unlock the range, and an
    /// exclusive lock does not block its own I/O.
    pub open: OpenId,
    /// First byte of the range.
    pub offset: u64,
    /// Bytes covered. The range {0, 0} conflicts with nothing.
    pub length: u64,
    /// Exclusive: blocks other opens' reads and writes. Shared: blocks every
    /// write, the owner's included.
    pub exclusive: bool,
}

/// Why [`LeaseTable::lock`](crate::lease::LeaseTable::lock) refused a lock
/// (MS-FSA 2.1.5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// STATUS_INVALID_LOCK_RANGE: offset + length - 1 overflows.
    #[error("lock range beyond the largest offset")]
    InvalidRange,
    /// STATUS_LOCK_NOT_GRANTED: a conflicting lock asked to fail at once.
    #[error("lock not granted")]
    NotGranted,
    /// STATUS_INSUFFICIENT_RESOURCES.
    #[error("too many locks on the file")]
    TooManyLocks,
}

/// Why [`LeaseTable::unlock`](crate::lease::LeaseTable::unlock) refused
/// (MS-FSA 2.1.5.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnlockError {
    /// STATUS_INVALID_LOCK_RANGE.
    #[error("lock range beyond the largest offset")]
    InvalidRange,
    /// STATUS_RANGE_NOT_LOCKED.
    #[error("range not locked")]
    RangeNotLocked,
}

/// STATUS_FILE_LOCK_CONFLICT for a read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("file lock conflict")]
pub struct LockConflict;

/// MS-FSA 2.1.5.8 validation: a non-empty range must not run past u64::MAX.
fn valid_range(offset: u64, length: u64) -> bool {
    length == 0 || offset.checked_add(length - 1).is_some()
}

/// MS-FSA 2.1.4.10 overlap test. The {0,0} range overlaps nothing; the
/// spec's LastByteOffset = offset + length - 1 is computed in i128 so that
/// neither a zero length nor a range ending at u64::MAX wraps.
fn overlaps(a_off: u64, a_len: u64, b_off: u64, b_len: u64) -> bool {
    if (a_off == 0 && a_len == 0) || (b_off == 0 && b_len == 0) {
        return false;
    }
    // LastByteOffset = offset + length - 1, computed in i128 so that a
    // zero length gives offset - 1 as in the spec (unsigned wrap aside).
    let a_last = a_off as i128 + a_len as i128 - 1;
    let b_last = b_off as i128 + b_len as i128 - 1;
    (a_off as i128) <= b_last && a_last >= b_off as i128
}

/// A lock request waiting for conflicting locks to go (MS-FSA 2.1.5.8:
/// the request is not completed until the lock can be granted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockWait {
    pub token: WaitToken,
    pub file: FileKey,
    pub lock: ByteRangeLock,
    pub parked_at: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct LockTable {
    by_file: BTreeMap<FileKey, Vec<ByteRangeLock>>,
    /// Waiting lock requests in arrival order (the key), retried in that
    /// order: of two waiters for the same range, the first is granted first.
    waiting: BTreeMap<u64, LockWait>,
    waiting_by_token: BTreeMap<WaitToken, u64>,
    next_wait: u64,
    /// Waiters granted their lock and woken, whose request has not yet run
    /// again to answer it.
    granted: BTreeMap<WaitToken, (FileKey, ByteRangeLock)>,
}

impl LockTable {
    /// MS-FSA 2.1.4.10 with LockIntent set to `lock_intent`.
    fn conflicts(
        &self,
        file: FileKey,
        open: OpenId,
        offset: u64,
        length: u64,
        exclusive: bool,
        lock_intent: bool,
    ) -> bool {
        if offset == 0 && length == 0 {
            return false;
        }
        self.locks(file).iter().any(|l| {
            if !overlaps(offset, length, l.offset, l.length) {
                return false;
            }
            if l.exclusive {
                // Exclusive locks block all access by other opens; the owner
                // may not stack another exclusive lock on them.
                l.open != open || (exclusive && lock_intent)
            } else {
                // Shared locks block every access with exclusive intent,
                // the owner's included.
                exclusive
            }
        })
    }

    pub fn locks(&self, file: FileKey) -> &[ByteRangeLock] {
        self.by_file.get(&file).map(Vec::as_slice).unwrap_or(&[])
    }

    /// MS-FSA 2.1.5.8 with FailImmediately: a conflicting lock is refused
    /// with NotGranted.
    pub fn lock(
        &mut self,
        file: FileKey,
        open: OpenId,
        offset: u64,
        length: u64,
        exclusive: bool,
    ) -> Result<(), LockError> {
        if !valid_range(offset, length) {
            return Err(LockError::InvalidRange);
        }
        if self.conflicts(file, open, offset, length, exclusive, true) {
            return Err(LockError::NotGranted);
        }
        self.insert(file, ByteRangeLock { open, offset, length, exclusive })
    }

    fn insert(&mut self, file: FileKey, l: ByteRangeLock) -> Result<(), LockError> {
        let v = self.by_file.entry(file).or_default();
        if v.len() >= MAX_LOCKS_PER_FILE {
            return Err(LockError::TooManyLocks);
        }
        v.push(l);
        Ok(())
    }

    /// MS-FSA 2.1.5.8 without FailImmediately: grants the lock now (true),
    /// or parks it under `token` until it can be granted (false). A lock
    /// granted while `token` waited is taken here (true), once.
    pub fn lock_or_wait(
        &mut self,
        file: FileKey,
        l: ByteRangeLock,
        token: WaitToken,
        now: Instant,
    ) -> Result<bool, LockError> {
        if self.granted.remove(&token).is_some() {
            return Ok(true);
        }
        if self.waiting_by_token.contains_key(&token) {
            return Ok(false);
        }
        if !valid_range(l.offset, l.length) {
            return Err(LockError::InvalidRange);
        }
        if !self.conflicts(file, l.open, l.offset, l.length, l.exclusive, true) {
            self.insert(file, l)?;
            return Ok(true);
        }
        self.next_wait += 1;
        self.waiting.insert(self.next_wait, LockWait { token, file, lock: l, parked_at: now });
        self.waiting_by_token.insert(token, self.next_wait);
        Ok(false)
    }

    /// Takes the lock granted to `token` while it waited, if any.
    pub fn take_grant(&mut self, token: WaitToken) -> bool {
        self.granted.remove(&token).is_some()
    }

    /// Retries the waiters of `file` in arrival order after locks went
    /// away; returns those granted now (their tokens are to be woken).
    pub fn retry(&mut self, file: FileKey) -> Vec<LockWait> {
        let on_file: Vec<(u64, LockWait)> =
            self.waiting.iter().filter(|(_, w)| w.file == file).map(|(s, w)| (*s, *w)).collect();
        let mut out = Vec::new();
        for (seq, w) in on_file {
            let l = w.lock;
            if self.conflicts(file, l.open, l.offset, l.length, l.exclusive, true) || self.insert(file, l).is_err() {
                continue;
            }
            self.waiting.remove(&seq);
            self.waiting_by_token.remove(&w.token);
            self.granted.insert(w.token, (file, l));
            out.push(w);
        }
        out
    }

    /// Forgets the waiting lock under `token`; a lock granted to it and not
    /// yet taken is dropped (its request is being answered otherwise).
    /// Returns the file whose locks changed, if a granted lock was dropped.
    pub fn cancel(&mut self, token: WaitToken) -> (bool, Option<FileKey>) {
        if let Some(seq) = self.waiting_by_token.remove(&token) {
            self.waiting.remove(&seq);
            return (true, None);
        }
        match self.granted.remove(&token) {
            Some((file, l)) => {
                let _ = self.unlock(file, l.open, l.offset, l.length);
                (true, Some(file))
            }
            None => (false, None),
        }
    }

    /// The lock requests of `open` still waiting (not yet granted).
    pub fn waiting_of(&self, open: OpenId) -> Vec<WaitToken> {
        self.waiting.values().filter(|w| w.lock.open == open).map(|w| w.token).collect()
    }

    /// Tokens of every waiting or granted-but-untaken lock request.
    pub fn tokens(&self) -> BTreeSet<WaitToken> {
        self.waiting_by_token.keys().chain(self.granted.keys()).copied().collect()
    }

    /// Lock requests waiting now.
    pub fn waiting_len(&self) -> usize {
        self.waiting.len()
    }

    /// Is a lock request waiting under `token`?
    pub fn is_waiting(&self, token: WaitToken) -> bool {
        self.waiting_by_token.contains_key(&token)
    }

    /// MS-FSA 2.1.5.9: removes the lock of `open` with exactly this range,
    /// preferring an exclusive one.
    pub fn unlock(&mut self, file: FileKey, open: OpenId, offset: u64, length: u64) -> Result<(), UnlockError> {
        if !valid_range(offset, length) {
            return Err(UnlockError::InvalidRange);
        }
        let Some(v) = self.by_file.get_mut(&file) else { return Err(UnlockError::RangeNotLocked) };
        let matching = |l: &ByteRangeLock| l.open == open && l.offset == offset && l.length == length;
        let idx = v.iter().position(|l| matching(l) && l.exclusive).or_else(|| v.iter().position(matching));
        let Some(idx) = idx else { return Err(UnlockError::RangeNotLocked) };
        v.remove(idx);
        if v.is_empty() {
            self.by_file.remove(&file);
        }
        Ok(())
    }

    /// May `open` read (or write) `len` bytes at `offset`? Reads are shared
    /// intent, writes exclusive intent (MS-FSA 2.1.5.3, 2.1.5.4).
    pub fn check_io(
        &self,
        file: FileKey,
        open: OpenId,
        offset: u64,
        len: u64,
        write: bool,
    ) -> Result<(), LockConflict> {
        // A range running past u64::MAX needs no clamping: the overlap test
        // is done in i128, and no lock lies beyond.
        match self.conflicts(file, open, offset, len, write, false) {
            true => Err(LockConflict),
            false => Ok(()),
        }
    }

    /// Drops every lock of a closed open (MS-FSA 2.1.5.5) and its waiting
    /// lock requests (MS-SMB2 3.3.4.17 cancels them).
    pub fn remove_open(&mut self, file: FileKey, open: OpenId) {
        for t in self.waiting_of(open) {
            self.cancel(t);
        }
        if let Some(v) = self.by_file.get_mut(&file) {
            v.retain(|l| l.open != open);
            if v.is_empty() {
                self.by_file.remove(&file);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::id::ConnId;
    use crate::lease::{LeaseTable, OpenId, access, share};

    use super::*;

    const F: FileKey = 7;
    const DATA: u32 = access::FILE_READ_DATA | access::FILE_WRITE_DATA;
    const ALL: u32 = share::READ | share::WRITE | share::DELETE;
    const C1: ConnId = ConnId(1);
    const C2: ConnId = ConnId(2);

    #[test]
    fn exclusive_lock_blocks_other_opens_only() {
        let mut t = LeaseTable::new(Duration::from_secs(35));
        let a = t.add_open(F, DATA, ALL, C1);
        let b = t.add_open(F, DATA, ALL, C2);
        assert_eq!(t.lock(F, a, 0, 10, true), Ok(()));
        assert_eq!(t.check_io(F, a, 0, 10, false), Ok(()));
        assert_eq!(t.check_io(F, a, 0, 10, true), Ok(()));
        assert_eq!(t.check_io(F, b, 9, 1, false), Err(LockConflict));
        assert_eq!(t.check_io(F, b, 5, 100, true), Err(LockConflict));
        assert_eq!(t.check_io(F, b, 10, 5, true), Ok(()));
        // NFS checks under an id no open has: every lock is another's.
        assert_eq!(t.check_io(F, OpenId(0), 0, 1, false), Err(LockConflict));
        assert_eq!(t.lock(F, b, 5, 10, false), Err(LockError::NotGranted));
        // The owner may not stack an exclusive lock, but may add a shared one.
        assert_eq!(t.lock(F, a, 5, 1, true), Err(LockError::NotGranted));
        assert_eq!(t.lock(F, a, 5, 1, false), Ok(()));
        assert_eq!(t.lock(F, b, 10, 10, true), Ok(()));
    }

    #[test]
    fn shared_lock_blocks_writes_by_anyone() {
        let mut t = LeaseTable::new(Duration::from_secs(35));
        let a = t.add_open(F, DATA, ALL, C1);
        let b = t.add_open(F, DATA, ALL, C2);
        assert_eq!(t.lock(F, a, 100, 50, false), Ok(()));
        assert_eq!(t.lock(F, b, 120, 50, false), Ok(()));
        assert_eq!(t.check_io(F, b, 100, 10, false), Ok(()));
        assert_eq!(t.check_io(F, b, 100, 10, true), Err(LockConflict));
        assert_eq!(t.check_io(F, a, 100, 10, true), Err(LockConflict));
        assert_eq!(t.check_io(F, a, 0, 100, true), Ok(()));
        assert_eq!(t.lock(F, b, 0, 101, true), Err(LockError::NotGranted));
        // Closing the opens drops their locks.
        t.close_open(a, std::time::Instant::now());
        t.close_open(b, std::time::Instant::now());
        assert!(t.locks_on(F).is_empty());
        assert_eq!(t.check_io(F, OpenId(0), 0, u64::MAX, true), Ok(()));
    }

    #[test]
    fn zero_length_ranges() {
        let mut t = LeaseTable::new(Duration::from_secs(35));
        let a = t.add_open(F, DATA, ALL, C1);
        let b = t.add_open(F, DATA, ALL, C2);
        assert_eq!(t.lock(F, a, 0, 10, true), Ok(()));
        // {0,0} conflicts with nothing.
        assert_eq!(t.lock(F, b, 0, 0, true), Ok(()));
        assert_eq!(t.check_io(F, b, 0, 0, true), Ok(()));
        // An empty range strictly inside a lock does (MS-FSA 2.1.4.10).
        assert_eq!(t.lock(F, b, 5, 0, false), Err(LockError::NotGranted));
        assert_eq!(t.lock(F, b, 10, 0, false), Ok(()));
    }

    #[test]
    fn unlock_errors() {
        let mut t = LeaseTable::new(Duration::from_secs(35));
        let a = t.add_open(F, DATA, ALL, C1);
        let b = t.add_open(F, DATA, ALL, C2);
        assert_eq!(t.unlock(F, a, 0, 10, Instant::now()), Err(UnlockError::RangeNotLocked));
        t.lock(F, a, 0, 10, false).unwrap();
        t.lock(F, a, 0, 10, true).unwrap_err();
        assert_eq!(t.unlock(F, a, 0, 9, Instant::now()), Err(UnlockError::RangeNotLocked));
        assert_eq!(t.unlock(F, b, 0, 10, Instant::now()), Err(UnlockError::RangeNotLocked));
        assert_eq!(t.unlock(F, a, 0, 10, Instant::now()), Ok(()));
        assert_eq!(t.unlock(F, a, 0, 10, Instant::now()), Err(UnlockError::RangeNotLocked));
        assert_eq!(t.unlock(F, a, u64::MAX, 2, Instant::now()), Err(UnlockError::InvalidRange));
    }

    #[test]
    fn lock_range_overflow() {
        let mut t = LeaseTable::new(Duration::from_secs(35));
        let a = t.add_open(F, DATA, ALL, C1);
        let b = t.add_open(F, DATA, ALL, C2);
        assert_eq!(t.lock(F, a, u64::MAX, 2, true), Err(LockError::InvalidRange));
        assert_eq!(t.lock(F, a, 2, u64::MAX, true), Err(LockError::InvalidRange));
        // The last byte of the offset space can be locked.
        assert_eq!(t.lock(F, a, u64::MAX, 1, true), Ok(()));
        assert_eq!(t.lock(F, b, 1, u64::MAX, false), Err(LockError::NotGranted));
        assert_eq!(t.lock(F, b, u64::MAX, 0, false), Ok(()));
        assert_eq!(t.check_io(F, b, u64::MAX - 1, u64::MAX, false), Err(LockConflict));
        assert_eq!(t.check_io(F, b, u64::MAX - 1, 1, true), Ok(()));
    }

    quickcheck::quickcheck! {
        fn locks_never_panic(ops: Vec<(bool, u8, u64, u64, bool)>) -> bool {
            let mut t = LeaseTable::new(Duration::from_secs(35));
            let opens = [t.add_open(F, DATA, ALL, C1), t.add_open(F, DATA, ALL, C2)];
            for (lock, who, off, len, excl) in ops {
                let o = opens[usize::from(who % 2)];
                let _ = if lock { t.lock(F, o, off, len, excl).is_ok() } else { t.unlock(F, o, off, len, Instant::now()).is_ok() };
                let _ = t.check_io(F, o, off, len, excl);
            }
            true
        }
    }
}
