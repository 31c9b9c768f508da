//! A synthetic self-relative SECURITY_DESCRIPTOR for SMB2_0_INFO_SECURITY
//! queries (MS-DTYP 2.4.6), built from POSIX ownership and mode bits.
//!
//! Owner and group are the Unix SIDs Samba uses: S-1-22-1-uid and
//! S-1-22-2-gid. The DACL has up to three ACCESS_ALLOWED ACEs, one per POSIX
//! class, as Samba maps them: the owner (rwx bits 0o700, plus READ_CONTROL,
//! WRITE_DAC and WRITE_OWNER always: a POSIX owner may chmod/chown), the
//! group (0o070) and Everyone S-1-1-0 (0o007). Classes without any bit get no
//! ACE. r = FILE_GENERIC_READ, w = FILE_GENERIC_WRITE | DELETE |
//! FILE_DELETE_CHILD, x = FILE_GENERIC_EXECUTE; an owner with rwx has
//! FILE_ALL_ACCESS (0x001F01FF).

use super::{put_u8, put_u16, put_u32};

pub const OWNER_SECURITY_INFORMATION: u32 = 0x0000_0001;
pub const GROUP_SECURITY_INFORMATION: u32 = 0x0000_0002;
pub const DACL_SECURITY_INFORMATION: u32 = 0x0000_0004;

// Access mask bits (MS-DTYP 2.4.3, MS-SMB2 2.2.13.1.1).
const FILE_GENERIC_READ: u32 = 0x0012_0089;
const FILE_GENERIC_WRITE: u32 = 0x0012_0116;
const FILE_GENERIC_EXECUTE: u32 = 0x0012_00A0;
const DELETE: u32 = 0x0001_0000;
const FILE_DELETE_CHILD: u32 = 0x0000_0040;
const READ_CONTROL: u32 = 0x0002_0000;
const WRITE_DAC: u32 = 0x0004_0000;
const WRITE_OWNER: u32 = 0x0008_0000;

// SECURITY_DESCRIPTOR.Control (MS-DTYP 2.4.6).
const SE_DACL_PRESENT: u16 = 0x0004;
const SE_SELF_RELATIVE: u16 = 0x8000;

const ACL_REVISION: u8 = 2;
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;

/// SECURITY_DESCRIPTOR header length; owner/group/DACL follow in that order.
const SD_HEADER_LEN: usize = 20;

/// The self-relative SD of an object owned by `uid`:`gid` with POSIX `mode`,
/// holding only the parts asked for in `additional_information`
/// (OWNER 1, GROUP 2, DACL 4; other bits are ignored, so SACL/label requests
/// get a descriptor without them).
pub fn minimal_security_descriptor(uid: u32, gid: u32, mode: u32, additional_information: u32, out: &mut Vec<u8>) {
    let owner = sid(22, &[1, uid]);
    let group = sid(22, &[2, gid]);
    let want = |bit: u32| additional_information & bit != 0;

    let start = out.len();
    out.resize(start + SD_HEADER_LEN, 0); // the header, written last
    let mut offset_owner = 0u32;
    let mut offset_group = 0u32;
    let mut offset_dacl = 0u32;
    let mut control = SE_SELF_RELATIVE;
    if want(OWNER_SECURITY_INFORMATION) {
        offset_owner = (out.len() - start) as u32;
        out.extend_from_slice(&owner);
    }
    if want(GROUP_SECURITY_INFORMATION) {
        offset_group = (out.len() - start) as u32;
        out.extend_from_slice(&group);
    }
    if want(DACL_SECURITY_INFORMATION) {
        offset_dacl = (out.len() - start) as u32;
        control |= SE_DACL_PRESENT;
        let owner_mask = rights((mode >> 6) & 7) | READ_CONTROL | WRITE_DAC | WRITE_OWNER;
        let aces = [(owner_mask, owner), (rights((mode >> 3) & 7), group), (rights(mode & 7), sid(1, &[0]))];
        out.extend_from_slice(&acl(aces.iter().filter(|(mask, _)| *mask != 0)));
    }

    let mut header = Vec::with_capacity(SD_HEADER_LEN);
    put_u8(&mut header, 1); // Revision
    put_u8(&mut header, 0); // Sbz1
    put_u16(&mut header, control);
    put_u32(&mut header, offset_owner);
    put_u32(&mut header, offset_group);
    put_u32(&mut header, 0); // OffsetSacl
    put_u32(&mut header, offset_dacl);
    if let Some(h) = out.get_mut(start..start + SD_HEADER_LEN) {
        h.copy_from_slice(&header);
    }
}

/// Access mask for one rwx triple.
fn rights(rwx: u32) -> u32 {
    let mut m = 0;
    if rwx & 4 != 0 {
        m |= FILE_GENERIC_READ;
    }
    if rwx & 2 != 0 {
        m |= FILE_GENERIC_WRITE | DELETE | FILE_DELETE_CHILD;
    }
    if rwx & 1 != 0 {
        m |= FILE_GENERIC_EXECUTE;
    }
    m
}

/// A SID (MS-DTYP 2.4.2.2): Revision 1, SubAuthorityCount, 48-bit big-endian
/// IdentifierAuthority, little-endian SubAuthorities.
fn sid(authority: u64, sub: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 4 * sub.len());
    put_u8(&mut out, 1);
    put_u8(&mut out, sub.len() as u8);
    out.extend_from_slice(authority.to_be_bytes().get(2..).unwrap_or_default());
    for &s in sub {
        put_u32(&mut out, s);
    }
    out
}

/// An ACL (MS-DTYP 2.4.5) of ACCESS_ALLOWED_ACEs (2.4.4.2).
fn acl<'a>(aces: impl Iterator<Item = &'a (u32, Vec<u8>)>) -> Vec<u8> {
    let mut body = Vec::new();
    let mut count = 0u16;
    for (mask, sid) in aces {
        put_u8(&mut body, ACCESS_ALLOWED_ACE_TYPE);
        put_u8(&mut body, 0); // AceFlags
        put_u16(&mut body, (8 + sid.len()) as u16);
        put_u32(&mut body, *mask);
        body.extend_from_slice(sid);
        count += 1;
    }
    let mut out = Vec::with_capacity(8 + body.len());
    put_u8(&mut out, ACL_REVISION);
    put_u8(&mut out, 0);
    put_u16(&mut out, (8 + body.len()) as u16);
    put_u16(&mut out, count);
    put_u16(&mut out, 0);
    out.extend_from_slice(&body);
    out
}
