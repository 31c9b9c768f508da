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

use super::security_descriptor::{
    ACCESS_ALLOWED_ACE_TYPE, Ace, Acl, SE_DACL_PRESENT, SE_SACL_PRESENT, SE_SELF_RELATIVE, SecurityDescriptor, Sid,
};

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

/// The descriptor an object owned by `uid`:`gid` with POSIX `mode` shows
/// when none is kept for it.
pub fn posix_security_descriptor(uid: u32, gid: u32, mode: u32) -> SecurityDescriptor {
    let owner = Sid::new(22, &[1, uid]);
    let group = Sid::new(22, &[2, gid]);
    let owner_mask = rights((mode >> 6) & 7) | READ_CONTROL | WRITE_DAC | WRITE_OWNER;
    let aces = [(owner_mask, owner.clone()), (rights((mode >> 3) & 7), group.clone()), (rights(mode & 7), Sid::new(1, &[0]))]
        .into_iter()
        .filter(|(mask, _)| *mask != 0)
        .map(|(mask, sid)| Ace { kind: ACCESS_ALLOWED_ACE_TYPE, flags: 0, mask, sid })
        .collect();
    SecurityDescriptor {
        control: SE_SELF_RELATIVE | SE_DACL_PRESENT,
        owner: Some(owner),
        group: Some(group),
        sacl: None,
        dacl: Some(Acl::new(aces)),
    }
}

/// `sd` holding only the parts asked for in `additional_information`
/// (OWNER 1, GROUP 2, DACL 4; other bits are ignored, so SACL/label
/// requests get a descriptor without them).
pub fn filtered(sd: &SecurityDescriptor, additional_information: u32) -> SecurityDescriptor {
    let want = |bit: u32| additional_information & bit != 0;
    let mut out = sd.clone();
    if !want(OWNER_SECURITY_INFORMATION) {
        out.owner = None;
    }
    if !want(GROUP_SECURITY_INFORMATION) {
        out.group = None;
    }
    if !want(DACL_SECURITY_INFORMATION) {
        out.dacl = None;
        out.control &= !SE_DACL_PRESENT;
    }
    out.sacl = None;
    out.control &= !SE_SACL_PRESENT;
    out
}

/// The self-relative SD of an object owned by `uid`:`gid` with POSIX `mode`,
/// holding only the parts asked for in `additional_information`.
pub fn minimal_security_descriptor(uid: u32, gid: u32, mode: u32, additional_information: u32, out: &mut Vec<u8>) {
    filtered(&posix_security_descriptor(uid, gid, mode), additional_information).encode(out);
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
