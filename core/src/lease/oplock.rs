//! Classic oplocks, one per open (MS-SMB2 2.2.13 RequestedOplockLevel).
//! They live in the same break machinery as leases: level II behaves like R,
//! exclusive like RW, batch like RWH (docs/LEASES.md "Classic oplocks").

use super::state::LeaseState;

/// MS-SMB2 2.2.13 SMB2_OPLOCK_LEVEL_* (without LEASE, which is not an oplock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OplockLevel {
    /// No oplock.
    None,
    /// Level II: shared read caching, like a lease's R.
    II,
    /// Exclusive: read and write caching for one open, like RW.
    Exclusive,
    /// Batch: read, write and handle caching (the close may be held back),
    /// like RWH.
    Batch,
}

impl OplockLevel {
    /// SMB2_OPLOCK_LEVEL_NONE.
    pub const WIRE_NONE: u8 = 0x00;
    /// SMB2_OPLOCK_LEVEL_II.
    pub const WIRE_II: u8 = 0x01;
    /// SMB2_OPLOCK_LEVEL_EXCLUSIVE.
    pub const WIRE_EXCLUSIVE: u8 = 0x08;
    /// SMB2_OPLOCK_LEVEL_BATCH.
    pub const WIRE_BATCH: u8 = 0x09;

    /// From the wire; 0xFF (lease) and unknown values are `None`.
    pub fn from_wire(v: u8) -> Option<Self> {
        match v {
            Self::WIRE_NONE => Some(Self::None),
            Self::WIRE_II => Some(Self::II),
            Self::WIRE_EXCLUSIVE => Some(Self::Exclusive),
            Self::WIRE_BATCH => Some(Self::Batch),
            _ => None,
        }
    }

    /// The OplockLevel byte for the wire.
    pub fn to_wire(self) -> u8 {
        match self {
            Self::None => Self::WIRE_NONE,
            Self::II => Self::WIRE_II,
            Self::Exclusive => Self::WIRE_EXCLUSIVE,
            Self::Batch => Self::WIRE_BATCH,
        }
    }

    /// The caching state the level stands for.
    pub fn state(self) -> LeaseState {
        match self {
            Self::None => LeaseState::NONE,
            Self::II => LeaseState::R,
            Self::Exclusive => LeaseState::RW,
            Self::Batch => LeaseState::RWH,
        }
    }

    /// The level a caching state stands for (RH has no oplock level: II).
    pub fn from_state(s: LeaseState) -> Self {
        if s.contains(LeaseState::RWH) {
            Self::Batch
        } else if s.contains(LeaseState::RW) {
            Self::Exclusive
        } else if s.contains(LeaseState::R) {
            Self::II
        } else {
            Self::None
        }
    }
}

/// Casts a planned break target onto what an oplock can be broken to: only
/// II or NONE. A batch oplock losing H (rename, link, delete) goes to NONE
/// (MS-FSA 2.1.4.12 "If Oplock.State contains BATCH_OPLOCK, set
/// BreakToNone"); losing W goes to II.
pub(crate) fn oplock_target(current: LeaseState, target: LeaseState) -> LeaseState {
    if current.contains(LeaseState::H) && !target.contains(LeaseState::H) && target.contains(LeaseState::W) {
        LeaseState::NONE
    } else if target.contains(LeaseState::R) && target != current {
        LeaseState::R
    } else {
        target.normalized()
    }
}
