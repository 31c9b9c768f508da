//! What a SET_INFO security descriptor (MS-DTYP 2.4.6, self-relative)
//! asks, mapped onto POSIX owner, group and mode: the inverse of the
//! descriptor a query returns (security.rs), documented in docs/SECURITY.md.
//!
//! - owner S-1-22-1-UID sets the uid, group S-1-22-2-GID the gid;
//! - a DACL of ACCESS_ALLOWED ACEs for the owner's SID, the group's SID and
//!   Everyone (S-1-1-0) sets the three rwx triples: r from FILE_READ_DATA,
//!   w from FILE_WRITE_DATA, x from FILE_EXECUTE (or the generic rights
//!   that include them); several ACEs of one class add up; a class without
//!   an ACE gets no bits. The other rights of a mask follow from rwx as the
//!   query shows them. ANONYMOUS LOGON (S-1-5-7) names the identity guest
//!   and anonymous sessions act as (`SmbConfig::guest_uid`): its ACE counts
//!   as the owner's when that uid owns the object, and is refused
//!   otherwise (no other class holds that one uid alone).
//!
//! Anything else cannot be kept and is refused, never dropped: other SIDs,
//! deny or object ACEs, ACE flags other than INHERITED_ACE (inheritance is
//! not kept), a NULL DACL, SACLs and the other SECURITY_INFORMATION parts.

use super::security::{DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION};

/// PROTECTED_DACL / UNPROTECTED_DACL_SECURITY_INFORMATION (MS-DTYP 2.4.7):
/// they govern inheritance from the parent, which no object here has, so
/// they change nothing and are accepted.
const DACL_PROTECTION: u32 = 0x8000_0000 | 0x2000_0000;
const SE_DACL_PRESENT: u16 = 0x0004;
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
const INHERITED_ACE: u8 = 0x10;

const FILE_READ_DATA: u32 = 0x0000_0001;
const FILE_WRITE_DATA: u32 = 0x0000_0002;
const FILE_EXECUTE: u32 = 0x0000_0020;
const GENERIC_ALL: u32 = 0x1000_0000;
const GENERIC_EXECUTE: u32 = 0x2000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const GENERIC_READ: u32 = 0x8000_0000;

/// The POSIX changes a descriptor maps to; `None` leaves a part as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PosixSecurity {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// The permission bits (0o777).
    pub mode: Option<u32>,
}

/// Why a descriptor is not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdError {
    /// Malformed: STATUS_INVALID_PARAMETER.
    Invalid,
    /// Well-formed but not representable as owner/group/mode:
    /// STATUS_NOT_SUPPORTED.
    Unmappable,
}

/// A SID as (IdentifierAuthority, SubAuthorities); `None` if malformed.
fn sid_at(buf: &[u8], off: usize) -> Option<(u64, Vec<u32>, usize)> {
    let rev = *buf.get(off)?;
    let count = *buf.get(off + 1)? as usize;
    if rev != 1 || count > 15 {
        return None;
    }
    let auth = buf.get(off + 2..off + 8)?.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
    let mut subs = Vec::with_capacity(count);
    for i in 0..count {
        let b = buf.get(off + 8 + 4 * i..off + 12 + 4 * i)?;
        subs.push(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    }
    Some((auth, subs, 8 + 4 * count))
}

fn u16_at(buf: &[u8], off: usize) -> Option<u16> {
    buf.get(off..off + 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    buf.get(off..off + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The Unix id of an S-1-22-`kind`-ID SID.
fn unix_id(buf: &[u8], off: usize, kind: u32) -> Result<u32, SdError> {
    match sid_at(buf, off).ok_or(SdError::Invalid)? {
        (22, subs, _) if subs.len() == 2 && subs[0] == kind => Ok(subs[1]),
        _ => Err(SdError::Unmappable),
    }
}

/// The rwx bits an access mask carries.
fn rwx(mask: u32) -> u32 {
    let has = |bits: u32| mask & bits != 0;
    let mut m = 0;
    if has(FILE_READ_DATA | GENERIC_READ | GENERIC_ALL) {
        m |= 4;
    }
    if has(FILE_WRITE_DATA | GENERIC_WRITE | GENERIC_ALL) {
        m |= 2;
    }
    if has(FILE_EXECUTE | GENERIC_EXECUTE | GENERIC_ALL) {
        m |= 1;
    }
    m
}

/// Decodes the parts of `sd` that `additional_information` names, for an
/// object now owned by `uid`:`gid` (the DACL's owner and group ACEs name
/// the owner and group the object has once the descriptor is applied).
pub fn decode_security_descriptor(
    sd: &[u8],
    additional_information: u32,
    uid: u32,
    gid: u32,
    guest_uid: u32,
) -> Result<PosixSecurity, SdError> {
    let known = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    if additional_information & !(known | DACL_PROTECTION) != 0 {
        return Err(SdError::Unmappable);
    }
    if sd.first() != Some(&1) {
        return Err(SdError::Invalid);
    }
    let control = u16_at(sd, 2).ok_or(SdError::Invalid)?;
    let at = |i: usize| u32_at(sd, 4 + 4 * i).map(|o| o as usize).ok_or(SdError::Invalid);
    let (off_owner, off_group, off_dacl) = (at(0)?, at(1)?, at(3)?);
    let mut out = PosixSecurity::default();
    if additional_information & OWNER_SECURITY_INFORMATION != 0 {
        if off_owner == 0 {
            return Err(SdError::Invalid);
        }
        out.uid = Some(unix_id(sd, off_owner, 1)?);
    }
    if additional_information & GROUP_SECURITY_INFORMATION != 0 {
        if off_group == 0 {
            return Err(SdError::Invalid);
        }
        out.gid = Some(unix_id(sd, off_group, 2)?);
    }
    if additional_information & DACL_SECURITY_INFORMATION != 0 {
        // No DACL is a NULL DACL: everyone may do everything, WRITE_DAC
        // included, which no mode says.
        if control & SE_DACL_PRESENT == 0 || off_dacl == 0 {
            return Err(SdError::Unmappable);
        }
        out.mode = Some(dacl_mode(sd, off_dacl, out.uid.unwrap_or(uid), out.gid.unwrap_or(gid), guest_uid)?);
    }
    Ok(out)
}

/// The mode an ACL (MS-DTYP 2.4.5) of allow ACEs maps to.
fn dacl_mode(sd: &[u8], off: usize, uid: u32, gid: u32, guest_uid: u32) -> Result<u32, SdError> {
    let size = u16_at(sd, off + 2).ok_or(SdError::Invalid)? as usize;
    let count = u16_at(sd, off + 4).ok_or(SdError::Invalid)? as usize;
    let end = off.checked_add(size).filter(|e| *e <= sd.len() && size >= 8).ok_or(SdError::Invalid)?;
    let mut at = off + 8;
    let mut mode = 0;
    for _ in 0..count {
        let ty = *sd.get(at).ok_or(SdError::Invalid)?;
        let flags = *sd.get(at + 1).ok_or(SdError::Invalid)?;
        let ace_size = u16_at(sd, at + 2).ok_or(SdError::Invalid)? as usize;
        if ace_size < 8 || at + ace_size > end {
            return Err(SdError::Invalid);
        }
        if ty != ACCESS_ALLOWED_ACE_TYPE || flags & !INHERITED_ACE != 0 {
            return Err(SdError::Unmappable);
        }
        let mask = u32_at(sd, at + 4).ok_or(SdError::Invalid)?;
        let (auth, subs, sid_len) = sid_at(sd, at + 8).ok_or(SdError::Invalid)?;
        if 8 + sid_len > ace_size {
            return Err(SdError::Invalid);
        }
        let shift = match (auth, subs.as_slice()) {
            (22, [1, u]) if *u == uid => 6,
            (5, [7]) if guest_uid == uid => 6,
            (22, [2, g]) if *g == gid => 3,
            (1, [0]) => 0,
            _ => return Err(SdError::Unmappable),
        };
        mode |= rwx(mask) << shift;
        at += ace_size;
    }
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb::fscc::minimal_security_descriptor;

    const ALL: u32 = 7;

    #[test]
    fn what_a_query_returns_sets_the_same_owner_group_and_mode() {
        for mode in [0o640, 0o755, 0o000, 0o007, 0o777] {
            let mut sd = Vec::new();
            minimal_security_descriptor(1000, 100, mode, ALL, &mut sd);
            let got = decode_security_descriptor(&sd, ALL, 1, 1, 65534).unwrap();
            assert_eq!(got, PosixSecurity { uid: Some(1000), gid: Some(100), mode: Some(mode) }, "{mode:o}");
        }
        // Only the parts asked for.
        let mut sd = Vec::new();
        minimal_security_descriptor(1000, 100, 0o600, ALL, &mut sd);
        let got = decode_security_descriptor(&sd, DACL_SECURITY_INFORMATION, 1000, 100, 65534).unwrap();
        assert_eq!(got, PosixSecurity { uid: None, gid: None, mode: Some(0o600) });
    }

    fn sd_with_ace(ty: u8, flags: u8, sid: &[u8]) -> Vec<u8> {
        let mut ace = vec![ty, flags];
        ace.extend_from_slice(&((8 + sid.len()) as u16).to_le_bytes());
        ace.extend_from_slice(&0x001F_01FFu32.to_le_bytes());
        ace.extend_from_slice(sid);
        let mut acl = vec![2, 0];
        acl.extend_from_slice(&((8 + ace.len()) as u16).to_le_bytes());
        acl.extend_from_slice(&1u16.to_le_bytes());
        acl.extend_from_slice(&[0, 0]);
        acl.extend_from_slice(&ace);
        let mut sd = vec![1, 0];
        sd.extend_from_slice(&(0x8000u16 | SE_DACL_PRESENT).to_le_bytes());
        sd.extend_from_slice(&[0; 12]);
        sd.extend_from_slice(&20u32.to_le_bytes());
        sd.extend_from_slice(&acl);
        sd
    }

    #[test]
    fn what_does_not_map_is_refused() {
        let everyone = [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        let dacl = DACL_SECURITY_INFORMATION;
        assert_eq!(decode_security_descriptor(&sd_with_ace(0, 0, &everyone), dacl, 1, 1, 65534).unwrap().mode, Some(0o007));
        // A deny ACE, an inheritable ACE, another SID (S-1-5-32-544).
        assert_eq!(decode_security_descriptor(&sd_with_ace(1, 0, &everyone), dacl, 1, 1, 65534), Err(SdError::Unmappable));
        assert_eq!(decode_security_descriptor(&sd_with_ace(0, 3, &everyone), dacl, 1, 1, 65534), Err(SdError::Unmappable));
        // ANONYMOUS LOGON is the guest uid: the owner's class when it owns
        // the object, refused otherwise.
        let anonymous = [1, 1, 0, 0, 0, 0, 0, 5, 7, 0, 0, 0];
        let sd = sd_with_ace(0, 0, &anonymous);
        assert_eq!(decode_security_descriptor(&sd, dacl, 65534, 1, 65534).unwrap().mode, Some(0o700));
        assert_eq!(decode_security_descriptor(&sd, dacl, 1000, 1, 65534), Err(SdError::Unmappable));
        let admins = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0];
        assert_eq!(decode_security_descriptor(&sd_with_ace(0, 0, &admins), dacl, 1, 1, 65534), Err(SdError::Unmappable));
        // A SACL, and a descriptor cut short.
        let sd = sd_with_ace(0, 0, &everyone);
        assert_eq!(decode_security_descriptor(&sd, 0x8, 1, 1, 65534), Err(SdError::Unmappable));
        assert_eq!(decode_security_descriptor(&sd[..30], dacl, 1, 1, 65534), Err(SdError::Invalid));
        // A NULL DACL (DACL_PRESENT clear).
        let mut null = sd.clone();
        null[2] = 0;
        assert_eq!(decode_security_descriptor(&null, dacl, 1, 1, 65534), Err(SdError::Unmappable));
    }
}
