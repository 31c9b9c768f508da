//! The POSIX decision of `crate::access` mapped onto SMB access masks: what
//! a CREATE may be granted (MS-SMB2 3.3.5.9, MS-FSA 2.1.5.1.2.1), and who a
//! session is in Unix terms.
//!
//! Mapping of the rwx triple that applies to the session on the object
//! (the same mapping the security descriptor of a query shows, fscc
//! security.rs):
//!
//! | POSIX | SMB rights |
//! |---|---|
//! | always | FILE_READ_ATTRIBUTES, READ_CONTROL, SYNCHRONIZE |
//! | r | FILE_READ_DATA (LIST_DIRECTORY), FILE_READ_EA |
//! | w | FILE_WRITE_DATA (ADD_FILE), FILE_APPEND_DATA (ADD_SUBDIRECTORY), FILE_WRITE_EA, FILE_WRITE_ATTRIBUTES, FILE_DELETE_CHILD |
//! | x (or r, on a file) | FILE_EXECUTE (TRAVERSE on a directory, which needs x) |
//! | owner or root | WRITE_DAC, WRITE_OWNER, FILE_WRITE_ATTRIBUTES (chmod, chown as POSIX allows) |
//! | w+x on the parent (sticky rules) | DELETE |
//!
//! A read-only share (or a guest on a guest-read-only share) clears every
//! right that modifies; FILE_ATTRIBUTE_READONLY on a file (no owner write
//! bit, fscc/mod.rs) clears FILE_WRITE_DATA and FILE_APPEND_DATA (MS-FSA
//! 2.1.5.1.2.1), and for everyone, root included.

use crate::access::{self, Identity, Origin, R, W, X};
use crate::config::SmbConfig;
use crate::lease::access::*;
use crate::smb::auth;
use crate::vfs::{FileAttr, FileType};

/// Access bits that modify the file or its metadata.
pub const WRITE_MASK: u32 = FILE_WRITE_DATA
    | FILE_APPEND_DATA
    | FILE_WRITE_EA
    | FILE_WRITE_ATTRIBUTES
    | DELETE
    | WRITE_DAC
    | WRITE_OWNER
    | 0x40;

/// FILE_DELETE_CHILD (MS-SMB2 2.2.13.1.2).
pub const FILE_DELETE_CHILD: u32 = 0x0000_0040;

/// The Unix identity an authenticated session acts as: a configured user's
/// uid/gid/groups, or the configured guest ids for guest and anonymous
/// sessions (and for a user no longer configured).
pub fn identity_of(cfg: &SmbConfig, who: Option<&auth::Identity>) -> Identity {
    match who {
        Some(auth::Identity::User(name)) => match cfg.users.iter().find(|u| u.name.eq_ignore_ascii_case(name)) {
            Some(u) => Identity::user(u.uid, u.gid, u.groups.clone()),
            None => Identity::mapped(cfg.guest_uid, cfg.guest_gid, Origin::Guest),
        },
        Some(auth::Identity::Anonymous) => Identity::mapped(cfg.guest_uid, cfg.guest_gid, Origin::Anonymous),
        _ => Identity::mapped(cfg.guest_uid, cfg.guest_gid, Origin::Guest),
    }
}

/// MS-SMB2 3.3.5.9 step: generic rights map to specific file rights; a
/// MAXIMUM_ALLOWED request gets the tree's maximal access.
pub fn map_access(desired: u32, maximal: u32) -> u32 {
    let mut a = desired & 0x01FF_FFFF & !MAXIMUM_ALLOWED;
    if desired & GENERIC_READ != 0 {
        a |= 0x0012_0089;
    }
    if desired & GENERIC_WRITE != 0 {
        a |= 0x0012_0116;
    }
    if desired & GENERIC_EXECUTE != 0 {
        a |= 0x0012_00A0;
    }
    if desired & GENERIC_ALL != 0 {
        a |= 0x001F_01FF;
    }
    if desired & MAXIMUM_ALLOWED != 0 {
        a |= maximal;
    }
    a
}

/// Whether a non-directory carries FILE_ATTRIBUTE_READONLY (no owner
/// write bit; see fscc/mod.rs).
pub fn is_readonly(attr: &FileAttr) -> bool {
    attr.kind != FileType::Directory && attr.mode & 0o200 == 0
}

/// Every right `id` holds on `attr` (found in directory `dir`; `None` for
/// a share root, which cannot be deleted), with `read_only` for a read-only
/// share. MAXIMUM_ALLOWED is answered with this.
pub fn maximal(attr: &FileAttr, dir: Option<&FileAttr>, id: &Identity, read_only: bool) -> u32 {
    let bits = access::held(attr, id);
    let is_dir = attr.kind == FileType::Directory;
    let mut m = FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE;
    if bits & R != 0 {
        m |= FILE_READ_DATA | FILE_READ_EA;
    }
    if bits & W != 0 {
        // FILE_DELETE_CHILD means nothing on a file, but FILE_ALL_ACCESS
        // carries it, and the DACL a query shows grants it with w.
        m |= FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES | FILE_DELETE_CHILD;
    }
    // FILE_EXECUTE on a file is, to a server, a read (the client pages in
    // what it runs), so r grants it too, as Samba's `acl allow execute
    // always`; on a directory it is TRAVERSE and needs x.
    if bits & X != 0 || (!is_dir && bits & R != 0) {
        m |= FILE_EXECUTE;
    }
    if access::may_chmod(attr, id) {
        m |= WRITE_DAC | WRITE_OWNER | FILE_WRITE_ATTRIBUTES;
    }
    if dir.is_some_and(|d| access::may_remove_entry(d, Some(attr), id)) {
        m |= DELETE;
    }
    if is_readonly(attr) {
        m &= !(FILE_WRITE_DATA | FILE_APPEND_DATA);
    }
    if read_only {
        m &= !WRITE_MASK;
    }
    m
}

/// The access granted to an open asking for `desired` (generic rights
/// already mapped, MAXIMUM_ALLOWED kept as its bit) when `maximal` is all
/// the caller may have: MAXIMUM_ALLOWED adds all of it; a right asked for
/// and not held is STATUS_ACCESS_DENIED (MS-FSA 2.1.5.1.2.1).
/// ACCESS_SYSTEM_SECURITY is not decided here (passed through, as before).
pub fn grant(desired: u32, maximal: u32) -> Result<u32, u32> {
    const SYSTEM_SECURITY: u32 = 0x0100_0000;
    let asked = desired & !MAXIMUM_ALLOWED;
    if asked & !SYSTEM_SECURITY & !maximal != 0 {
        return Err(crate::smb::status::ACCESS_DENIED);
    }
    Ok(if desired & MAXIMUM_ALLOWED != 0 { asked | maximal } else { asked })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The access module's fixture, group 100.
    fn attr(mode: u32, uid: u32, kind: FileType) -> FileAttr {
        crate::access::tests::attr(mode, uid, 100, kind)
    }

    #[test]
    fn other_uid_0600_file_grants_a_guest_only_stat_rights() {
        let f = attr(0o600, 1000, FileType::Regular);
        let dir = attr(0o777, 0, FileType::Directory);
        let guest = Identity::mapped(65534, 65534, Origin::Guest);
        let m = maximal(&f, Some(&dir), &guest, false);
        assert_eq!(m & (FILE_READ_DATA | FILE_WRITE_DATA | WRITE_DAC), 0);
        assert_eq!(grant(FILE_WRITE_DATA, m), Err(crate::smb::status::ACCESS_DENIED));
        assert_eq!(grant(MAXIMUM_ALLOWED, m), Ok(m));
        let owner = Identity::user(1000, 100, vec![]);
        let m = maximal(&f, Some(&dir), &owner, false);
        assert_eq!(grant(FILE_WRITE_DATA | FILE_READ_DATA, m), Ok(FILE_WRITE_DATA | FILE_READ_DATA));
        assert_ne!(m & (WRITE_DAC | DELETE), 0);
    }

    #[test]
    fn readonly_attribute_and_read_only_share() {
        let root = Identity::user(0, 0, vec![]);
        let dir = attr(0o777, 0, FileType::Directory);
        let ro = attr(0o444, 0, FileType::Regular);
        let m = maximal(&ro, Some(&dir), &root, false);
        assert_eq!(m & (FILE_WRITE_DATA | FILE_APPEND_DATA), 0);
        assert_ne!(m & FILE_READ_DATA, 0);
        let rw = attr(0o666, 0, FileType::Regular);
        assert_eq!(maximal(&rw, Some(&dir), &root, true) & WRITE_MASK, 0);
        // A share root has no parent to be deleted from.
        assert_eq!(maximal(&dir, None, &root, false) & DELETE, 0);
    }

    #[test]
    fn sessions_resolve_to_their_ids() {
        let mut cfg = SmbConfig { guest_uid: 99, guest_gid: 98, ..SmbConfig::default() };
        cfg.users.push(crate::config::User::new("Alice", "pw").with_ids(1000, 100, vec![5]));
        let alice = identity_of(&cfg, Some(&auth::Identity::User("alice".into())));
        assert_eq!(alice, Identity::user(1000, 100, vec![5]));
        assert_eq!(identity_of(&cfg, Some(&auth::Identity::Guest)), Identity::mapped(99, 98, Origin::Guest));
        assert_eq!(identity_of(&cfg, Some(&auth::Identity::Anonymous)).origin, Origin::Anonymous);
    }
}
