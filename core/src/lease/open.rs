//! Opens as the table records them: the file key, access and share bits,
//! and the share-mode conflict rule.

use crate::id::ConnId;

/// The file identity the table is keyed by: the Vfs ObjectId of the file or
/// stream being opened.
pub type FileKey = u64;

/// MS-SMB2 2.2.13.1 access mask bits the table looks at.
pub mod access {
    /// Read the file's data.
    pub const FILE_READ_DATA: u32 = 0x0000_0001;
    /// Write the file's data.
    pub const FILE_WRITE_DATA: u32 = 0x0000_0002;
    /// Append to the file's data.
    pub const FILE_APPEND_DATA: u32 = 0x0000_0004;
    /// Read extended attributes.
    pub const FILE_READ_EA: u32 = 0x0000_0008;
    /// Write extended attributes.
    pub const FILE_WRITE_EA: u32 = 0x0000_0010;
    /// Execute the file; counts as a data read for share modes.
    pub const FILE_EXECUTE: u32 = 0x0000_0020;
    /// Read attributes: a stat access.
    pub const FILE_READ_ATTRIBUTES: u32 = 0x0000_0080;
    /// Write attributes: a stat access.
    pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0000_0100;
    /// Delete the file; checked against FILE_SHARE_DELETE.
    pub const DELETE: u32 = 0x0001_0000;
    /// Read the security descriptor: a stat access for leases, not for
    /// classic oplocks (MS-FSA 2.1.4.12).
    pub const READ_CONTROL: u32 = 0x0002_0000;
    /// Change the security descriptor's DACL.
    pub const WRITE_DAC: u32 = 0x0004_0000;
    /// Change the security descriptor's owner.
    pub const WRITE_OWNER: u32 = 0x0008_0000;
    /// Wait on the handle: a stat access.
    pub const SYNCHRONIZE: u32 = 0x0010_0000;
    /// Every access the caller is allowed; the SMB layer resolves it before
    /// registering the open.
    pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
    /// All rights; mapped to specific bits before the table sees a mask.
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    /// Generic execute; mapped to specific bits before the table sees a mask.
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    /// Generic write; mapped to specific bits before the table sees a mask.
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    /// Generic read; mapped to specific bits before the table sees a mask.
    pub const GENERIC_READ: u32 = 0x8000_0000;
    /// A stat open asks only for these and breaks nothing (docs/LEASES.md "Stat opens").
    pub const STAT_OPEN_MASK: u32 = FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE;
}

/// MS-SMB2 2.2.13 ShareAccess bits.
pub mod share {
    /// FILE_SHARE_READ: others may open with FILE_READ_DATA or FILE_EXECUTE.
    pub const READ: u32 = 0x1;
    /// FILE_SHARE_WRITE: others may open with FILE_WRITE_DATA or
    /// FILE_APPEND_DATA.
    pub const WRITE: u32 = 0x2;
    /// FILE_SHARE_DELETE: others may open with DELETE.
    pub const DELETE: u32 = 0x4;
}

/// An open registered in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenId(pub u64);

/// An open as the table keeps it: what share-mode checks and break
/// routing need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEntry {
    /// The file or stream opened.
    pub file: FileKey,
    /// Granted access, generic bits already mapped.
    pub access: u32,
    /// ShareAccess granted to later opens ([`share`](crate::lease::share)
    /// bits).
    pub share: u32,
    /// The connection it was made on: where its oplock breaks go, and what
    /// [`LeaseTable::close_conn`](crate::lease::LeaseTable::close_conn) closes.
    pub conn: ConnId,
}

/// An open conflicts with an existing open's share mode (MS-FSA
/// 2.1.5.1.2): STATUS_SHARING_VIOLATION.
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
/// existing one? Sharing is checked only between opens that both touch the
/// data (read, execute, write, append or delete): an open without such
/// access neither conflicts nor is conflicted with (MS-FSA 2.1.5.1.2.2).
pub fn share_conflict(existing: &OpenEntry, access: u32, share_mode: u32) -> bool {
    let (r, w, d) = data_access(access);
    let (er, ew, ed) = data_access(existing.access);
    if !(r || w || d) || !(er || ew || ed) {
        return false;
    }
    (r && existing.share & share::READ == 0)
        || (w && existing.share & share::WRITE == 0)
        || (d && existing.share & share::DELETE == 0)
        || (er && share_mode & share::READ == 0)
        || (ew && share_mode & share::WRITE == 0)
        || (ed && share_mode & share::DELETE == 0)
}
