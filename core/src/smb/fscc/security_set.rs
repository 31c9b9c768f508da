//! What of a security descriptor maps onto POSIX owner, group and mode:
//! the inverse of the descriptor a query synthesizes (security.rs),
//! documented in docs/SECURITY.md and docs/WINDOWS-SEMANTICS.md.
//!
//! - owner S-1-22-1-UID is the uid, group S-1-22-2-GID the gid;
//! - a DACL of ACCESS_ALLOWED ACEs for the owner's SID, the group's SID and
//!   Everyone (S-1-1-0) is the three rwx triples: r from FILE_READ_DATA,
//!   w from FILE_WRITE_DATA, x from FILE_EXECUTE (or the generic rights
//!   that include them); several ACEs of one class add up; a class without
//!   an ACE gets no bits; the owner must have one (else the DACL is only
//!   kept: Everyone alone would take every owner bit away). ANONYMOUS LOGON (S-1-5-7) names the identity
//!   guest and anonymous sessions act as (`SmbConfig::guest_uid`): its ACE
//!   counts as the owner's when that uid owns the object.
//!
//! Any other DACL (deny ACEs, inheritance flags, other SIDs, a NULL DACL)
//! has no mode: it is kept as it is and refines the access check over SMB
//! (smb/dacl.rs), while the mode stays what NFS sees.

use super::security_descriptor::{ACCESS_ALLOWED_ACE_TYPE, Acl, INHERITED_ACE};

const FILE_READ_DATA: u32 = 0x0000_0001;
const FILE_WRITE_DATA: u32 = 0x0000_0002;
const FILE_EXECUTE: u32 = 0x0000_0020;
const GENERIC_ALL: u32 = 0x1000_0000;
const GENERIC_EXECUTE: u32 = 0x2000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const GENERIC_READ: u32 = 0x8000_0000;

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

/// The permission bits (0o777) `acl` maps to on an object owned by
/// `uid`:`gid`; `None` when it does not map.
pub fn dacl_mode(acl: &Acl, uid: u32, gid: u32, guest_uid: u32) -> Option<u32> {
    let mut mode = 0;
    let mut names_owner = false;
    for ace in &acl.aces {
        if ace.kind != ACCESS_ALLOWED_ACE_TYPE || ace.flags & !INHERITED_ACE != 0 {
            return None;
        }
        let shift = match (ace.sid.authority, ace.sid.sub.as_slice()) {
            (22, [1, u]) if *u == uid => 6,
            (5, [7]) if guest_uid == uid => 6,
            (22, [2, g]) if *g == gid => 3,
            (1, [0]) => 0,
            _ => return None,
        };
        names_owner |= shift == 6;
        mode |= rwx(ace.mask) << shift;
    }
    // One that does not name the owner is no chmod (a descriptor of
    // Everyone alone would take every owner bit away).
    names_owner.then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb::fscc::security::posix_security_descriptor;
    use crate::smb::fscc::security_descriptor::{Ace, Sid};

    #[test]
    fn what_a_query_returns_maps_to_the_same_mode() {
        for mode in [0o640, 0o755, 0o000, 0o007, 0o777] {
            let sd = posix_security_descriptor(1000, 100, mode);
            assert_eq!(sd.owner.as_ref().and_then(|s| s.unix_id(1)), Some(1000));
            assert_eq!(sd.group.as_ref().and_then(|s| s.unix_id(2)), Some(100));
            assert_eq!(dacl_mode(sd.dacl.as_ref().unwrap(), 1000, 100, 65534), Some(mode), "{mode:o}");
        }
    }

    fn acl(kind: u8, flags: u8, sid: Sid) -> Acl {
        Acl::new(vec![Ace { kind, flags, mask: 0x001F_01FF, sid }])
    }

    #[test]
    fn what_does_not_map_has_no_mode() {
        let everyone = Sid::new(1, &[0]);
        let owner_and_everyone = Acl::new(vec![
            Ace { kind: 0, flags: 0, mask: 0x0012_0089, sid: Sid::new(22, &[1, 1]) },
            Ace { kind: 0, flags: 0, mask: 0x001F_01FF, sid: everyone.clone() },
        ]);
        assert_eq!(dacl_mode(&owner_and_everyone, 1, 1, 65534), Some(0o407));
        // Everyone alone names no owner: no mode.
        assert_eq!(dacl_mode(&acl(0, 0, everyone.clone()), 1, 1, 65534), None);
        // A deny ACE, an inheritable ACE, another SID (S-1-5-32-544).
        assert_eq!(dacl_mode(&acl(1, 0, everyone.clone()), 1, 1, 65534), None);
        assert_eq!(dacl_mode(&acl(0, 3, everyone), 1, 1, 65534), None);
        assert_eq!(dacl_mode(&acl(0, 0, Sid::new(5, &[32, 544])), 1, 1, 65534), None);
        // ANONYMOUS LOGON is the guest uid: the owner's class when it owns
        // the object.
        let anonymous = acl(0, 0, Sid::new(5, &[7]));
        assert_eq!(dacl_mode(&anonymous, 65534, 1, 65534), Some(0o700));
        assert_eq!(dacl_mode(&anonymous, 1000, 1, 65534), None);
    }
}
