//! Opens as the table records them: the file key, access and share bits,
//! and the share-mode conflict rule.

use crate::id::ConnId;

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
