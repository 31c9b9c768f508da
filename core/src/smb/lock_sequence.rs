//! Open.LockSequenceArray (MS-SMB2 3.3.1.10, 3.3.5.14): the LockSequence
//! of the last LOCK done under each LockSequenceIndex, so that a LOCK a
//! client replays (its reply lost with a connection or sent again on
//! another channel) answers SUCCESS without locking twice.

/// Entries of Open.LockSequenceArray.
pub const LOCK_SEQUENCES: usize = 64;

/// The LockSequenceNumber of the last LOCK done under each
/// LockSequenceIndex 1..=64, if valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockSequences([Option<u8>; LOCK_SEQUENCES]);

impl Default for LockSequences {
    fn default() -> Self {
        Self([None; LOCK_SEQUENCES])
    }
}

/// A LOCK request's LockSequence (MS-SMB2 2.2.26): the 4-bit
/// LockSequenceNumber and the 28-bit LockSequenceIndex, as an array slot;
/// `None` for index 0 or past the array.
fn lock_slot(lock_sequence: u32) -> Option<(usize, u8)> {
    let index = (lock_sequence >> 4) as usize;
    let number = (lock_sequence & 0xF) as u8;
    let slot = index.checked_sub(1).filter(|i| *i < LOCK_SEQUENCES)?;
    Some((slot, number))
}

impl LockSequences {
    /// Was a LOCK with `lock_sequence` already done? A mismatch invalidates
    /// the entry (3.3.5.14).
    pub fn replayed(&mut self, lock_sequence: u32) -> bool {
        let Some((i, n)) = lock_slot(lock_sequence) else { return false };
        match self.0.get_mut(i) {
            Some(slot) if *slot == Some(n) => true,
            Some(slot) => {
                *slot = None;
                false
            }
            None => false,
        }
    }

    /// A LOCK with `lock_sequence` succeeded.
    pub fn done(&mut self, lock_sequence: u32) {
        if let Some((i, n)) = lock_slot(lock_sequence)
            && let Some(slot) = self.0.get_mut(i)
        {
            *slot = Some(n);
        }
    }
}
