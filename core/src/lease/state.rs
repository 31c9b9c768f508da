//! Caching states (MS-SMB2 2.2.13.2.8 LeaseState, MS-FSA 2.1.1.10) and the
//! per-holder break bookkeeping shared by leases and classic oplocks.

use std::fmt;

/// A set of caching rights: READ (R), HANDLE (H), WRITE (W). The bit values
/// are the wire values of SMB2_LEASE_READ/HANDLE/WRITE_CACHING.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LeaseState(u32);

impl LeaseState {
    /// No caching.
    pub const NONE: Self = Self(0);
    /// SMB2_LEASE_READ_CACHING: reads may be served from the client's cache.
    pub const R: Self = Self(0x01);
    /// SMB2_LEASE_HANDLE_CACHING: the client may keep the handle open after
    /// the application closes it.
    pub const H: Self = Self(0x02);
    /// SMB2_LEASE_WRITE_CACHING: writes may be held in the client's cache.
    pub const W: Self = Self(0x04);
    /// Read and handle caching: the most a directory gets.
    pub const RH: Self = Self(0x03);
    /// Read and write caching.
    pub const RW: Self = Self(0x05);
    /// Read, write and handle caching.
    pub const RWH: Self = Self(0x07);

    /// From wire bits; unknown bits are dropped.
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits & 0x07)
    }

    /// The wire bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// No right at all.
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }

    /// Holds every right of `other`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Holds at least one right of `other`.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Every right held is also in `other`.
    pub const fn is_subset_of(self, other: Self) -> bool {
        other.contains(self)
    }

    /// `self` holds every right of `other` and at least one more.
    pub const fn is_strict_superset_of(self, other: Self) -> bool {
        self.contains(other) && self.0 != other.0
    }

    /// The rights of both.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The rights held by both.
    pub const fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// `self` without the rights of `other`, not normalized (see
    /// [`LeaseState::without`]).
    pub const fn minus(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// A state that can exist on a file: H or W without R is NONE
    /// (MS-SMB2 3.3.1.4: NONE, R, RW, RH, RWH).
    pub const fn normalized(self) -> Self {
        if self.0 & Self::R.0 == 0 { Self::NONE } else { self }
    }

    /// What is left after a break removing `removed` (MS-FSA 2.1.4.12
    /// BreakCacheState): losing R loses everything.
    pub const fn without(self, removed: Self) -> Self {
        self.minus(removed).normalized()
    }

    /// The part of a requested state that can ever be granted
    /// (docs/LEASES.md "Grantable states"): H, W or HW alone is NONE;
    /// directories get at most RH, and nothing unless directory leasing is on.
    pub const fn grantable(self, is_directory: bool, directory_leasing: bool) -> Self {
        let s = self.normalized();
        if is_directory { if directory_leasing { s.intersect(Self::RH) } else { Self::NONE } } else { s }
    }
}

impl fmt::Debug for LeaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for LeaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("NONE");
        }
        for (bit, c) in [(Self::R, "R"), (Self::W, "W"), (Self::H, "H")] {
            if self.contains(bit) {
                f.write_str(c)?;
            }
        }
        Ok(())
    }
}

/// The caching a holder (lease or oplock) has and the break it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Caching {
    /// What the holder may cache now (Lease.LeaseState).
    pub state: LeaseState,
    /// A break was sent and its acknowledgment is awaited (Lease.Breaking).
    pub breaking: bool,
    /// The state the notification announced; the ack must be a subset
    /// (Lease.BreakToLeaseState).
    pub break_to: LeaseState,
    /// What the server needs by the end of the break; narrowed by later
    /// conflicts without a new notification (chained breaks).
    pub required: LeaseState,
    /// The id of the pending break (its deadline is kept by the table).
    pub break_id: u64,
    /// The pending break continues an earlier one (chained breaks): it
    /// holds back what that break held back.
    pub chained: bool,
}

impl Caching {
    pub fn held(state: LeaseState) -> Self {
        Self { state, ..Self::default() }
    }

    /// The state the holder is heading to: its break target when breaking.
    pub fn target(&self) -> LeaseState {
        if self.breaking { self.required } else { self.state }
    }
}
