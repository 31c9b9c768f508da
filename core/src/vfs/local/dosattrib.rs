//! DOS attributes and the creation time of a LocalFs object, kept as Samba
//! keeps them: the `user.DOSATTRIB` extended attribute, so a tree served by
//! smbd before keeps its attributes here and the reverse.
//!
//! The value is Samba's `xattr_DOSATTRIB` in NDR (little-endian, each field
//! aligned to its size): a NUL-terminated string (empty, or an old
//! `0xHEX` attribute string), padding to 2, the version as uint16 and again
//! as the union's uint16 level, padding to 4, then for version 5 (what smbd
//! 4.x writes): `valid_flags` uint32, `attrib` uint32, `create_time` NTTIME
//! (uint64). `valid_flags` bit 0x1 says `attrib` is valid, 0x10
//! `create_time`. Version 5 is written; version 5 is read, and of older
//! values only the attribute string. smbd stores READONLY and DIRECTORY in
//! `attrib` too: they are written here as the mode and kind say, and on
//! reading the mode and the kind decide (docs/WINDOWS-SEMANTICS.md).
//!
//! Where the file system refuses user extended attributes, the same value is
//! kept in a sidecar (local/sidecar.rs): the file `.polyshare\dosattrib/<inode>`
//! under the served root.

use std::fs::File;
use std::io;
use std::path::Path;

use super::{sidecar, xattr};

/// Samba's attribute name (XATTR_DOSATTRIB_NAME_S3).
pub const NAME: &str = "user.DOSATTRIB";

/// The sidecar directory under the served root.
pub const SIDECAR_DIR: &str = sidecar::DOSATTRIB_DIR;

/// The version written.
const VERSION: u16 = 5;
/// `valid_flags`: `attrib` is valid (XATTR_DOSINFO_ATTRIB).
const VALID_ATTRIB: u32 = 0x1;
/// `valid_flags`: `create_time` is valid (XATTR_DOSINFO_CREATE_TIME).
const VALID_CREATE_TIME: u32 = 0x10;

/// What `user.DOSATTRIB` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DosInfo {
    /// MS-FSCC 2.6 attributes, as Samba stores them (with READONLY and
    /// DIRECTORY).
    pub attrib: Option<u32>,
    /// Creation time as a FILETIME (100 ns since 1601).
    pub create_time: Option<u64>,
}

/// The version-5 NDR blob of `info`.
pub fn encode(info: &DosInfo) -> Vec<u8> {
    let mut valid = 0;
    if info.attrib.is_some() {
        valid |= VALID_ATTRIB;
    }
    if info.create_time.is_some() {
        valid |= VALID_CREATE_TIME;
    }
    let mut b = Vec::with_capacity(24);
    b.extend_from_slice(&[0, 0]); // empty string, padding to 2
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&VERSION.to_le_bytes()); // union level
    b.extend_from_slice(&[0, 0]); // padding to 4
    b.extend_from_slice(&valid.to_le_bytes());
    b.extend_from_slice(&info.attrib.unwrap_or(0).to_le_bytes());
    b.extend_from_slice(&info.create_time.unwrap_or(0).to_le_bytes());
    b
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Parses a `user.DOSATTRIB` value; `None` for one it cannot read.
pub fn decode(b: &[u8]) -> Option<DosInfo> {
    let nul = b.iter().position(|&c| c == 0)?;
    let hex = std::str::from_utf8(&b[..nul]).ok().and_then(|s| s.strip_prefix("0x"));
    let from_string = DosInfo { attrib: hex.and_then(|h| u32::from_str_radix(h, 16).ok()), create_time: None };
    let at = (nul + 1).next_multiple_of(2);
    let (Some(version), Some(level)) = (u16_at(b, at), u16_at(b, at + 2)) else {
        return from_string.attrib.map(|_| from_string);
    };
    if version != VERSION || level != VERSION {
        return from_string.attrib.map(|_| from_string);
    }
    let at = (at + 4).next_multiple_of(4);
    let valid = u32_at(b, at)?;
    let attrib = u32_at(b, at + 4)?;
    let create_time = u64_at(b, at + 8)?;
    Some(DosInfo {
        attrib: (valid & VALID_ATTRIB != 0).then_some(attrib).or(from_string.attrib),
        create_time: (valid & VALID_CREATE_TIME != 0).then_some(create_time),
    })
}

/// Where the DOSATTRIB value of one object lives.
#[derive(Debug, Clone, Copy)]
pub enum Store<'a> {
    /// In the `user.DOSATTRIB` extended attribute.
    Xattr,
    /// In the sidecar under `root`, for the object with this inode number
    /// and generation.
    Sidecar { root: &'a Path, ino: u64, generation: u64 },
}

/// The value kept for `path` (or the open `file` of it); `None` when none is
/// kept or it cannot be read.
pub fn read(store: Store<'_>, path: Option<&Path>, file: Option<&File>) -> Option<DosInfo> {
    match store {
        Store::Xattr => {
            let got = match (file, path) {
                (Some(f), _) => xattr::fget(f, NAME),
                (None, Some(p)) => xattr::get(p, NAME),
                (None, None) => return None,
            };
            decode(&got.ok()??)
        }
        Store::Sidecar { root, ino, generation } => decode(&sidecar::read(root, SIDECAR_DIR, ino, generation)?),
    }
}

/// Keeps `info` for `path`.
pub fn write(store: Store<'_>, path: &Path, info: &DosInfo) -> io::Result<()> {
    let blob = encode(info);
    match store {
        Store::Xattr => xattr::set(path, NAME, &blob),
        Store::Sidecar { root, ino, generation } => sidecar::write(root, SIDECAR_DIR, ino, generation, &blob),
    }
}
