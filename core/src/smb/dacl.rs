//! Kept security descriptors over SMB: what a query shows, what SET_INFO
//! and the SecD create context keep, what a new object inherits, and the
//! DACL's part in the access check (docs/WINDOWS-SEMANTICS.md).
//!
//! The POSIX check (smb/access.rs) stays: where a DACL is kept, an open is
//! granted what both allow (MS-DTYP 2.5.3.2 for the DACL: the owner holds
//! READ_CONTROL and WRITE_DAC, ACEs are walked in order, a deny ACE denies
//! what no earlier ACE allowed). DELETE is also granted by
//! FILE_DELETE_CHILD in the parent's DACL (MS-FSA 2.1.5.1.2.1). Root
//! passes the DACL as it passes the mode. NFS sees the mode only.

use crate::access::{self, Identity, Origin};
use crate::lease::access::*;
use crate::smb::access::{FILE_DELETE_CHILD, map_access};
use crate::smb::fscc::security_descriptor::{
    Ace, Acl, CONTAINER_INHERIT_ACE, INHERIT_ONLY_ACE, INHERITED_ACE, NO_PROPAGATE_INHERIT_ACE, OBJECT_INHERIT_ACE,
    SE_DACL_PRESENT, SE_SELF_RELATIVE,
};
use crate::smb::fscc::security_descriptor::{ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE};
use crate::smb::fscc::{
    DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, SdError, SecurityDescriptor,
    Sid, dacl_mode, posix_security_descriptor,
};
use crate::smb::status;
use crate::time::Timespec;
use crate::vfs::{FileAttr, FileType, ObjectId, SetAttr, Vfs};

/// SACL_SECURITY_INFORMATION (MS-DTYP 2.4.7).
pub const SACL_SECURITY_INFORMATION: u32 = 0x0000_0008;
/// FILE_ADD_FILE and FILE_ADD_SUBDIRECTORY (MS-SMB2 2.2.13.1.2).
const FILE_ADD_FILE: u32 = 0x0000_0002;
const FILE_ADD_SUBDIRECTORY: u32 = 0x0000_0004;
/// The Control bits that describe the DACL (MS-DTYP 2.4.6): PRESENT,
/// DEFAULTED, AUTO_INHERIT_REQ, AUTO_INHERITED, PROTECTED.
const DACL_CONTROL: u16 = 0x0004 | 0x0008 | 0x0100 | 0x0400 | 0x1000;
/// SE_DACL_AUTO_INHERITED, passed on to children.
const SE_DACL_AUTO_INHERITED: u16 = 0x0400;

/// CREATOR OWNER (S-1-3-0) and CREATOR GROUP (S-1-3-1).
fn creator(sid: &Sid) -> Option<u32> {
    match (sid.authority, sid.sub.as_slice()) {
        (3, [k @ (0 | 1)]) => Some(*k),
        _ => None,
    }
}

/// The SIDs a session holds: its Unix user and groups (S-1-22-1-UID,
/// S-1-22-2-GID), Everyone, and Authenticated Users (S-1-5-11) for a
/// user, Guests (S-1-5-32-546) for a guest, ANONYMOUS LOGON (S-1-5-7) and
/// Guests for an anonymous session.
pub fn session_sids(id: &Identity) -> Vec<Sid> {
    let mut sids = vec![Sid::new(22, &[1, id.uid]), Sid::new(22, &[2, id.gid]), Sid::new(1, &[0])];
    sids.extend(id.groups.iter().map(|g| Sid::new(22, &[2, *g])));
    match id.origin {
        Origin::User | Origin::Squashed => sids.push(Sid::new(5, &[11])),
        Origin::Guest => sids.push(Sid::new(5, &[32, 546])),
        Origin::Anonymous => sids.extend([Sid::new(5, &[7]), Sid::new(5, &[32, 546])]),
    }
    sids
}

/// The descriptor kept for `id`; `None` when none is, or it cannot be read
/// (the mode decides then).
pub fn kept(vfs: &dyn Vfs, id: ObjectId) -> Option<SecurityDescriptor> {
    SecurityDescriptor::decode(&vfs.security(id).ok()??).ok()
}

/// What a query shows of `attr`: the kept owner, group and DACL, each in
/// place of the one the POSIX owner, group and mode give.
pub fn effective(vfs: &dyn Vfs, attr: &FileAttr) -> SecurityDescriptor {
    let posix = posix_security_descriptor(attr.uid, attr.gid, attr.mode);
    let Some(k) = kept(vfs, attr.id) else { return posix };
    let dacl_kept = k.dacl_present();
    SecurityDescriptor {
        control: if dacl_kept { k.control | SE_SELF_RELATIVE } else { posix.control },
        owner: k.owner.or(posix.owner),
        group: k.group.or(posix.group),
        sacl: None,
        dacl: if dacl_kept { k.dacl } else { posix.dacl },
    }
}

/// The rights `sids` hold by `dacl` on an object owned by `owner`
/// (MS-DTYP 2.5.3.2); every right for a NULL DACL (`None`).
fn allowed(dacl: Option<&Acl>, owner: &Sid, sids: &[Sid]) -> u32 {
    let Some(acl) = dacl else { return u32::MAX };
    let mut granted = 0;
    if sids.contains(owner) {
        granted |= READ_CONTROL | WRITE_DAC;
    }
    let mut denied = 0;
    for ace in acl.aces.iter().filter(|a| a.flags & INHERIT_ONLY_ACE == 0 && sids.contains(&a.sid)) {
        let mask = map_access(ace.mask, 0);
        match ace.kind {
            ACCESS_ALLOWED_ACE_TYPE => granted |= mask & !denied,
            ACCESS_DENIED_ACE_TYPE => denied |= mask & !granted,
            _ => {}
        }
    }
    granted
}

/// The rights the kept DACL of `attr` leaves `id`; every right when no
/// DACL is kept, or for root.
fn dacl_rights(vfs: &dyn Vfs, attr: &FileAttr, id: &Identity) -> u32 {
    if id.is_root() {
        return u32::MAX;
    }
    match kept(vfs, attr.id) {
        Some(sd) if sd.dacl_present() => {
            let owner = sd.owner.clone().unwrap_or_else(|| Sid::new(22, &[1, attr.uid]));
            allowed(sd.dacl.as_ref(), &owner, &session_sids(id))
        }
        _ => u32::MAX,
    }
}

/// `posix` (what the mode lets `id` have on `attr`, found in `dir`)
/// limited by the kept DACLs: the object's, and for DELETE the parent's
/// FILE_DELETE_CHILD as an alternative.
pub fn refine(vfs: &dyn Vfs, attr: &FileAttr, dir: Option<&FileAttr>, id: &Identity, posix: u32) -> u32 {
    let own = dacl_rights(vfs, attr, id);
    let mut m = posix & own;
    if posix & DELETE != 0
        && own & DELETE == 0
        && dir.is_some_and(|d| dacl_rights(vfs, d, id) & FILE_DELETE_CHILD != 0)
    {
        m |= DELETE;
    }
    m
}

/// Whether the kept DACL of directory `dir` lets `id` add a file (or a
/// subdirectory) to it.
pub fn may_add(vfs: &dyn Vfs, dir: &FileAttr, id: &Identity, is_dir: bool) -> bool {
    dacl_rights(vfs, dir, id) & if is_dir { FILE_ADD_SUBDIRECTORY } else { FILE_ADD_FILE } != 0
}

/// The ACEs of `parent` a new object inherits (MS-DTYP 2.5.3.4.2, as
/// Windows applies it to files and directories): OBJECT_INHERIT to files,
/// CONTAINER_INHERIT to directories (which also carry OBJECT_INHERIT ACEs
/// on, inherit-only, for their files), unless NO_PROPAGATE; CREATOR OWNER
/// and CREATOR GROUP become `owner` and `group` where they take effect.
fn inherited(parent: &Acl, is_dir: bool, owner: &Sid, group: &Sid) -> Vec<Ace> {
    let mut out = Vec::new();
    for ace in &parent.aces {
        let (oi, ci, np) = (
            ace.flags & OBJECT_INHERIT_ACE != 0,
            ace.flags & CONTAINER_INHERIT_ACE != 0,
            ace.flags & NO_PROPAGATE_INHERIT_ACE != 0,
        );
        let effective = || {
            let sid = match creator(&ace.sid) {
                Some(0) => owner.clone(),
                Some(_) => group.clone(),
                None => ace.sid.clone(),
            };
            Ace { kind: ace.kind, flags: INHERITED_ACE, mask: ace.mask, sid }
        };
        let carried = |flags: u8| Ace { flags: INHERITED_ACE | flags, ..ace.clone() };
        if !is_dir {
            if oi {
                out.push(effective());
            }
            continue;
        }
        let passes_on = ace.flags & (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE);
        match (ci, np) {
            (true, true) => out.push(effective()),
            (true, false) if creator(&ace.sid).is_some() => {
                out.push(effective());
                out.push(carried(passes_on | INHERIT_ONLY_ACE));
            }
            (true, false) => out.push(carried(passes_on)),
            (false, false) if oi => out.push(carried(OBJECT_INHERIT_ACE | INHERIT_ONLY_ACE)),
            _ => {}
        }
    }
    out
}

/// Keeps for the new object `attr` (in directory `parent`) the DACL it
/// inherits from the parent's kept DACL, if any ACE passes on.
pub fn inherit(vfs: &dyn Vfs, parent: ObjectId, attr: &FileAttr, now: Timespec) -> Result<(), u32> {
    let Some(psd) = kept(vfs, parent) else { return Ok(()) };
    let Some(pacl) = psd.dacl.as_ref() else { return Ok(()) };
    let owner = Sid::new(22, &[1, attr.uid]);
    let group = Sid::new(22, &[2, attr.gid]);
    let aces = inherited(pacl, attr.kind == FileType::Directory, &owner, &group);
    if aces.is_empty() {
        return Ok(());
    }
    let sd = SecurityDescriptor {
        control: SE_SELF_RELATIVE | SE_DACL_PRESENT | (psd.control & SE_DACL_AUTO_INHERITED),
        dacl: Some(Acl { revision: pacl.revision, aces }),
        ..Default::default()
    };
    vfs.set_security(attr.id, Some(&sd.to_bytes()), now).map_err(|e| status::from_vfs(&e))
}

/// The SECURITY_INFORMATION parts a SecD create context carries.
pub fn parts_of(sd: &SecurityDescriptor) -> u32 {
    let mut info = 0;
    if sd.owner.is_some() {
        info |= OWNER_SECURITY_INFORMATION;
    }
    if sd.group.is_some() {
        info |= GROUP_SECURITY_INFORMATION;
    }
    if sd.dacl_present() {
        info |= DACL_SECURITY_INFORMATION;
    }
    if sd.sacl.is_some() {
        info |= SACL_SECURITY_INFORMATION;
    }
    info
}

/// A descriptor from the wire, its errors as NTSTATUS.
pub fn decode(b: &[u8]) -> Result<SecurityDescriptor, u32> {
    SecurityDescriptor::decode(b).map_err(|e| match e {
        SdError::Invalid => status::INVALID_PARAMETER,
        SdError::Unmappable => status::NOT_SUPPORTED,
    })
}

/// Applies the parts of `sd` that `info` names to `attr`, for `id`
/// (SET_INFO, MS-FSA 2.1.5.16, and the SecD context of a CREATE):
///
/// - an owner S-1-22-1-UID or group S-1-22-2-GID is a chown or chgrp
///   under POSIX rules; any other SID is kept in the descriptor, by the
///   owner or root (it names who holds READ_CONTROL and WRITE_DAC
///   implicitly, and changes no Unix ownership);
/// - a DACL (a NULL one too, or none: that is a NULL DACL, as smbd takes
///   it) is kept as given, by the owner or root; one that maps to a mode
///   (fscc/security_set.rs) also sets the mode, so NFS sees it;
/// - a SACL is STATUS_NOT_SUPPORTED (none is kept).
pub fn apply(
    vfs: &dyn Vfs,
    attr: &FileAttr,
    id: &Identity,
    sd: &SecurityDescriptor,
    info: u32,
    guest_uid: u32,
    now: Timespec,
) -> Result<(), u32> {
    if info & SACL_SECURITY_INFORMATION != 0 {
        return Err(status::NOT_SUPPORTED);
    }
    let old = kept(vfs, attr.id);
    let mut next = old.clone().unwrap_or(SecurityDescriptor { control: SE_SELF_RELATIVE, ..Default::default() });
    let mut set = SetAttr::default();
    if info & OWNER_SECURITY_INFORMATION != 0 {
        let owner = sd.owner.clone().ok_or(status::INVALID_PARAMETER)?;
        match owner.unix_id(1) {
            Some(u) if access::may_chown(attr, id, u) => {
                set.uid = Some(u).filter(|u| *u != attr.uid);
                next.owner = None;
            }
            None if access::may_chmod(attr, id) => next.owner = Some(owner),
            _ => return Err(status::ACCESS_DENIED),
        }
    }
    if info & GROUP_SECURITY_INFORMATION != 0 {
        let group = sd.group.clone().ok_or(status::INVALID_PARAMETER)?;
        match group.unix_id(2) {
            Some(g) if access::may_chgrp(attr, id, g) => {
                set.gid = Some(g).filter(|g| *g != attr.gid);
                next.group = None;
            }
            None if access::may_chmod(attr, id) => next.group = Some(group),
            _ => return Err(status::ACCESS_DENIED),
        }
    }
    if info & DACL_SECURITY_INFORMATION != 0 {
        if !access::may_chmod(attr, id) {
            return Err(status::ACCESS_DENIED);
        }
        next.control = (next.control & !DACL_CONTROL) | (sd.control & DACL_CONTROL) | SE_DACL_PRESENT;
        next.dacl = sd.dacl.clone();
        let (uid, gid) = (set.uid.unwrap_or(attr.uid), set.gid.unwrap_or(attr.gid));
        if let Some(mode) = sd.dacl.as_ref().and_then(|acl| dacl_mode(acl, uid, gid, guest_uid)) {
            set.mode = Some(mode | (attr.mode & 0o7000)).filter(|m| *m != attr.mode & 0o7777);
        }
    }
    if set != SetAttr::default() {
        vfs.setattr(attr.id, &set, now).map_err(|e| status::from_vfs(&e))?;
    }
    let keep = next.owner.is_some() || next.group.is_some() || next.dacl_present();
    if keep || old.is_some() {
        let bytes = keep.then(|| next.to_bytes());
        vfs.set_security(attr.id, bytes.as_deref(), now).map_err(|e| status::from_vfs(&e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::{CreateAttr, MemoryFs};

    const GUEST: u32 = 65534;

    fn ace(kind: u8, flags: u8, mask: u32, sid: Sid) -> Ace {
        Ace { kind, flags, mask, sid }
    }

    fn user_sid(uid: u32) -> Sid {
        Sid::new(22, &[1, uid])
    }

    #[test]
    fn a_deny_ace_denies_what_no_earlier_ace_allowed() {
        let me = Identity::user(1000, 100, vec![]);
        let sids = session_sids(&me);
        let owner = user_sid(1);
        let acl = Acl::new(vec![
            ace(ACCESS_DENIED_ACE_TYPE, 0, FILE_WRITE_DATA, user_sid(1000)),
            ace(ACCESS_ALLOWED_ACE_TYPE, 0, 0x001F_01FF, Sid::new(1, &[0])),
        ]);
        let got = allowed(Some(&acl), &owner, &sids);
        assert_eq!(got & FILE_WRITE_DATA, 0);
        assert_ne!(got & FILE_READ_DATA, 0);
        // An allow before the deny wins.
        let acl = Acl::new(vec![acl.aces[1].clone(), acl.aces[0].clone()]);
        assert_ne!(allowed(Some(&acl), &owner, &sids) & FILE_WRITE_DATA, 0);
        // Generic rights are mapped; inherit-only ACEs do not apply.
        let acl = Acl::new(vec![
            ace(ACCESS_ALLOWED_ACE_TYPE, INHERIT_ONLY_ACE, FILE_WRITE_DATA, Sid::new(1, &[0])),
            ace(ACCESS_ALLOWED_ACE_TYPE, 0, GENERIC_READ, Sid::new(1, &[0])),
        ]);
        assert_eq!(allowed(Some(&acl), &owner, &sids), 0x0012_0089);
        // The owner holds READ_CONTROL and WRITE_DAC; a NULL DACL all.
        assert_eq!(allowed(Some(&Acl::new(vec![])), &user_sid(1000), &sids), READ_CONTROL | WRITE_DAC);
        assert_eq!(allowed(None, &owner, &sids), u32::MAX);
    }

    #[test]
    fn sessions_hold_their_sids() {
        let guest = session_sids(&Identity::mapped(GUEST, GUEST, Origin::Guest));
        assert!(guest.contains(&Sid::new(5, &[32, 546])) && !guest.contains(&Sid::new(5, &[11])));
        let user = session_sids(&Identity::user(1000, 100, vec![7]));
        assert!(user.contains(&Sid::new(22, &[2, 7])) && user.contains(&Sid::new(5, &[11])));
        assert!(session_sids(&Identity::mapped(1, 1, Origin::Anonymous)).contains(&Sid::new(5, &[7])));
    }

    #[test]
    fn files_and_directories_inherit_as_windows_does() {
        let (o, g) = (user_sid(5), Sid::new(22, &[2, 6]));
        let everyone = Sid::new(1, &[0]);
        let parent = Acl::new(vec![
            ace(0, OBJECT_INHERIT_ACE, 1, everyone.clone()),
            ace(0, CONTAINER_INHERIT_ACE, 2, everyone.clone()),
            ace(0, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, 4, Sid::new(3, &[0])),
            ace(0, CONTAINER_INHERIT_ACE | NO_PROPAGATE_INHERIT_ACE, 8, everyone.clone()),
            ace(0, 0, 16, everyone.clone()),
        ]);
        let file = inherited(&parent, false, &o, &g);
        assert_eq!(file, vec![ace(0, INHERITED_ACE, 1, everyone.clone()), ace(0, INHERITED_ACE, 4, o.clone())]);
        let dir = inherited(&parent, true, &o, &g);
        assert_eq!(
            dir,
            vec![
                ace(0, INHERITED_ACE | OBJECT_INHERIT_ACE | INHERIT_ONLY_ACE, 1, everyone.clone()),
                ace(0, INHERITED_ACE | CONTAINER_INHERIT_ACE, 2, everyone.clone()),
                ace(0, INHERITED_ACE, 4, o),
                ace(0, INHERITED_ACE | OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE, 4, Sid::new(3, &[0])),
                ace(0, INHERITED_ACE, 8, everyone),
            ]
        );
    }

    #[test]
    fn a_kept_dacl_refines_the_mode_and_reads_back() {
        let fs = MemoryFs::new();
        let now = Timespec::default();
        let root = fs.root();
        let dir = fs.mkdir(root, "d", CreateAttr { mode: 0o777, uid: 1000, gid: 100 }, now).unwrap();
        let f = fs.create(dir.id, "f", CreateAttr { mode: 0o666, uid: 1000, gid: 100 }, now).unwrap();
        let me = Identity::user(1000, 100, vec![]);
        let posix = crate::smb::access::maximal(&f, Some(&dir), &me, false);
        assert_eq!(refine(&fs, &f, Some(&dir), &me, posix), posix, "no DACL kept: the mode decides");
        // Deny the owner writes and DELETE: the mode alone would allow them.
        let sd = SecurityDescriptor {
            control: SE_SELF_RELATIVE | SE_DACL_PRESENT,
            dacl: Some(Acl::new(vec![
                ace(ACCESS_DENIED_ACE_TYPE, 0, FILE_WRITE_DATA | DELETE, user_sid(1000)),
                ace(ACCESS_ALLOWED_ACE_TYPE, 0, 0x001F_01FF, Sid::new(1, &[0])),
            ])),
            ..Default::default()
        };
        apply(&fs, &f, &me, &sd, DACL_SECURITY_INFORMATION, GUEST, now).unwrap();
        assert_eq!(fs.getattr(f.id).unwrap().mode, 0o666, "a DACL that does not map leaves the mode");
        let m = refine(&fs, &f, Some(&dir), &me, posix);
        assert_eq!(m & FILE_WRITE_DATA, 0);
        assert_ne!(m & FILE_READ_DATA, 0);
        // DELETE comes from the parent, whose mode grants FILE_DELETE_CHILD.
        assert_ne!(m & DELETE, 0);
        let shown = effective(&fs, &fs.getattr(f.id).unwrap());
        assert_eq!((shown.dacl, shown.owner), (sd.dacl.clone(), Some(user_sid(1000))));
        // A parent DACL without FILE_DELETE_CHILD leaves it denied; one
        // with it grants it again.
        let parent_acl = |mask| SecurityDescriptor {
            control: SE_SELF_RELATIVE | SE_DACL_PRESENT,
            dacl: Some(Acl::new(vec![ace(ACCESS_ALLOWED_ACE_TYPE, 0, mask, Sid::new(1, &[0]))])),
            ..Default::default()
        };
        apply(&fs, &dir, &me, &parent_acl(FILE_WRITE_DATA), DACL_SECURITY_INFORMATION, GUEST, now).unwrap();
        assert_eq!(refine(&fs, &f, Some(&dir), &me, posix) & DELETE, 0);
        assert!(may_add(&fs, &dir, &me, false) && !may_add(&fs, &dir, &me, true));
        apply(&fs, &dir, &me, &parent_acl(FILE_DELETE_CHILD), DACL_SECURITY_INFORMATION, GUEST, now).unwrap();
        assert_ne!(refine(&fs, &f, Some(&dir), &me, posix) & DELETE, 0);
        // Root passes the DACL; another user may not change it.
        let root_id = Identity::user(0, 0, vec![]);
        assert_eq!(refine(&fs, &f, Some(&dir), &root_id, posix), posix);
        let other = Identity::user(2000, 200, vec![]);
        assert_eq!(apply(&fs, &f, &other, &sd, DACL_SECURITY_INFORMATION, GUEST, now), Err(status::ACCESS_DENIED));
        // A NULL DACL is kept as one.
        let null = SecurityDescriptor { control: SE_SELF_RELATIVE, ..Default::default() };
        apply(&fs, &f, &me, &null, DACL_SECURITY_INFORMATION, GUEST, now).unwrap();
        let shown = effective(&fs, &fs.getattr(f.id).unwrap());
        assert!(shown.dacl_present() && shown.dacl.is_none());
        // A DACL that maps sets the mode too.
        let posix_sd = posix_security_descriptor(1000, 100, 0o640);
        apply(&fs, &f, &me, &posix_sd, DACL_SECURITY_INFORMATION, GUEST, now).unwrap();
        assert_eq!(fs.getattr(f.id).unwrap().mode, 0o640);
    }
}
