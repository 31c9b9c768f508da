//! Protocol-neutral file-state table: opens with their share modes, and (with
//! the "Leases" issue) leases, oplocks, byte-range locks, break planning and
//! the operations waiting on breaks. Keyed by the file identity the Vfs gives.
//! SMB and NFS both describe what they are about to do here; cross-protocol is
//! not a special case.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::server::{ConnId, Core};

/// The file identity the table is keyed by: the Vfs ObjectId of the file or
/// stream being opened.
pub type FileKey = u64;

/// MS-SMB2 2.2.13.1 access mask bits the table looks at.
pub mod access {
    pub const FILE_READ_DATA: u32 = 0x0000_0001;
    pub const FILE_WRITE_DATA: u32 = 0x0000_0002;
    pub const FILE_APPEND_DATA: u32 = 0x0000_0004;
    pub const FILE_READ_EA: u32 = 0x0000_0008;
    pub const FILE_WRITE_EA: u32 = 0x0000_0010;
    pub const FILE_EXECUTE: u32 = 0x0000_0020;
    pub const FILE_READ_ATTRIBUTES: u32 = 0x0000_0080;
    pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0000_0100;
    pub const DELETE: u32 = 0x0001_0000;
    pub const READ_CONTROL: u32 = 0x0002_0000;
    pub const WRITE_DAC: u32 = 0x0004_0000;
    pub const WRITE_OWNER: u32 = 0x0008_0000;
    pub const SYNCHRONIZE: u32 = 0x0010_0000;
    pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    pub const GENERIC_READ: u32 = 0x8000_0000;
    /// A stat open asks only for these and breaks nothing (PROTOCOL-NOTES §2).
    pub const STAT_OPEN_MASK: u32 = FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE;
}

/// MS-SMB2 2.2.13 ShareAccess bits.
pub mod share {
    pub const READ: u32 = 0x1;
    pub const WRITE: u32 = 0x2;
    pub const DELETE: u32 = 0x4;
}

/// An open registered in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenId(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEntry {
    pub file: FileKey,
    /// Granted access, generic bits already mapped.
    pub access: u32,
    pub share: u32,
    pub conn: ConnId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sharing violation")]
pub struct SharingViolation;

fn data_access(access: u32) -> (bool, bool, bool) {
    use access::*;
    (
        access & (FILE_READ_DATA | FILE_EXECUTE) != 0,
        access & (FILE_WRITE_DATA | FILE_APPEND_DATA) != 0,
        access & DELETE != 0,
    )
}

/// MS-FSA 2.1.5.1.2.1: does a new open (access, share) conflict with an
/// existing one?
pub fn share_conflict(existing: &OpenEntry, access: u32, share_mode: u32) -> bool {
    let (r, w, d) = data_access(access);
    let (er, ew, ed) = data_access(existing.access);
    (r && existing.share & share::READ == 0)
        || (w && existing.share & share::WRITE == 0)
        || (d && existing.share & share::DELETE == 0)
        || (er && share_mode & share::READ == 0)
        || (ew && share_mode & share::WRITE == 0)
        || (ed && share_mode & share::DELETE == 0)
}

#[derive(Debug)]
pub struct LeaseTable {
    pub break_timeout: Duration,
    opens: BTreeMap<OpenId, OpenEntry>,
    by_file: BTreeMap<FileKey, Vec<OpenId>>,
    next_open: u64,
}

impl LeaseTable {
    pub fn new(break_timeout: Duration) -> Self {
        Self { break_timeout, opens: BTreeMap::new(), by_file: BTreeMap::new(), next_open: 1 }
    }

    /// Would an open of `file` with `access` and `share_mode` be refused with
    /// STATUS_SHARING_VIOLATION?
    pub fn check_share(&self, file: FileKey, access: u32, share_mode: u32) -> Result<(), SharingViolation> {
        match self.opens_on(file).any(|(_, e)| share_conflict(e, access, share_mode)) {
            true => Err(SharingViolation),
            false => Ok(()),
        }
    }

    /// Registers an open that passed [`LeaseTable::check_share`].
    pub fn add_open(&mut self, file: FileKey, access: u32, share_mode: u32, conn: ConnId) -> OpenId {
        let id = OpenId(self.next_open);
        self.next_open += 1;
        self.opens.insert(id, OpenEntry { file, access, share: share_mode, conn });
        self.by_file.entry(file).or_default().push(id);
        id
    }

    pub fn remove_open(&mut self, id: OpenId) -> Option<OpenEntry> {
        let e = self.opens.remove(&id)?;
        if let Some(v) = self.by_file.get_mut(&e.file) {
            v.retain(|o| *o != id);
            if v.is_empty() {
                self.by_file.remove(&e.file);
            }
        }
        Some(e)
    }

    pub fn open(&self, id: OpenId) -> Option<&OpenEntry> {
        self.opens.get(&id)
    }

    pub fn opens_on(&self, file: FileKey) -> impl Iterator<Item = (OpenId, &OpenEntry)> + '_ {
        self.by_file.get(&file).into_iter().flatten().filter_map(|id| self.opens.get(id).map(|e| (*id, e)))
    }
}

/// The break deadline `id` has passed (MS-SMB2 3.3.2.5).
pub fn on_break_timeout(_core: &mut Core, _id: u64, _now: Instant) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_modes_conflict_both_ways() {
        let mut t = LeaseTable::new(Duration::from_secs(35));
        let c = ConnId(1);
        let a = t.add_open(7, access::FILE_READ_DATA, share::READ, c);
        assert_eq!(t.check_share(7, access::FILE_READ_DATA, share::READ | share::WRITE), Ok(()));
        assert_eq!(t.check_share(7, access::FILE_WRITE_DATA, share::READ | share::WRITE), Err(SharingViolation));
        // The new open refuses to share reading with an existing reader.
        assert_eq!(t.check_share(7, access::FILE_READ_ATTRIBUTES, share::WRITE), Err(SharingViolation));
        // A stat open sharing everything never conflicts.
        assert_eq!(t.check_share(7, access::FILE_READ_ATTRIBUTES, 7), Ok(()));
        assert_eq!(t.check_share(8, access::FILE_WRITE_DATA, 0), Ok(()));
        t.remove_open(a);
        assert_eq!(t.check_share(7, access::FILE_WRITE_DATA, 0), Ok(()));
        assert_eq!(t.opens_on(7).count(), 0);
    }
}
