//! Identities and the POSIX access check both protocols use.
//!
//! An SMB session (its user's uid/gid/groups, or the guest ids) and an NFS
//! call (AUTH_SYS credentials after the export's squashing) both become an
//! [`Identity`]; every open, create, delete, rename, setattr and directory
//! change is decided here from the object's owner, group and mode as POSIX
//! would decide it for that uid and group list (POSIX.1-2017 XBD 4.5 "File
//! Access Permissions"). Read-only shares and exports are applied on top by
//! each protocol, which also maps the answer onto its own wire (SMB access
//! masks, NFS ACCESS3 bits and status codes).

use crate::vfs::{FileAttr, FileType};

/// Permission bits as in one POSIX rwx triple.
pub const R: u32 = 4;
pub const W: u32 = 2;
pub const X: u32 = 1;

/// Mode bit of a sticky directory (S_ISVTX).
pub const STICKY: u32 = 0o1000;

/// How an identity came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A configured SMB user or an unsquashed AUTH_SYS caller.
    #[default]
    User,
    /// An SMB guest session.
    Guest,
    /// An SMB anonymous (null) session or an NFS AUTH_NONE call.
    Anonymous,
    /// An AUTH_SYS caller an export's squash option replaced.
    Squashed,
}

/// Who performs an operation: a Unix uid, primary gid and supplementary
/// groups, and where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    pub origin: Origin,
}

impl Identity {
    /// A user acting as `uid`, primary group `gid`, supplementary `groups`.
    pub fn user(uid: u32, gid: u32, groups: Vec<u32>) -> Self {
        Self { uid, gid, groups, origin: Origin::User }
    }

    /// The identity guest, anonymous and squashed callers act as.
    pub fn mapped(uid: u32, gid: u32, origin: Origin) -> Self {
        Self { uid, gid, groups: Vec::new(), origin }
    }

    /// uid 0 bypasses permission checks, unless the identity was mapped
    /// (guest, anonymous, squashed): those never do, whatever uid they map to.
    pub fn is_root(&self) -> bool {
        self.uid == 0 && self.origin == Origin::User
    }

    /// Whether `gid` is the primary or a supplementary group.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// Whether the identity owns `attr` (root does not, by that test).
    pub fn owns(&self, attr: &FileAttr) -> bool {
        self.uid == attr.uid
    }
}

/// The rwx triple that applies to `id` on `attr`: the owner's, else the
/// group's (primary or supplementary), else the others'. Root holds r and w
/// always, and x on directories or when any x bit is set.
pub fn held(attr: &FileAttr, id: &Identity) -> u32 {
    if id.is_root() {
        let x = attr.kind == FileType::Directory || attr.mode & 0o111 != 0;
        return R | W | if x { X } else { 0 };
    }
    let shift = if id.owns(attr) {
        6
    } else if id.in_group(attr.gid) {
        3
    } else {
        0
    };
    (attr.mode >> shift) & 7
}

/// Whether `id` holds every bit of `want` (R, W, X) on `attr`.
pub fn permits(attr: &FileAttr, id: &Identity, want: u32) -> bool {
    held(attr, id) & want == want
}

/// Adding an entry to directory `dir` (create, mkdir, link, the target side
/// of a rename) needs write and search on it.
pub fn may_add_entry(dir: &FileAttr, id: &Identity) -> bool {
    permits(dir, id, W | X)
}

/// Removing entry `victim` from `dir` (delete, rmdir, the source side of a
/// rename, a replaced rename target) needs write and search on `dir`; in a
/// sticky directory the caller must also own `dir` or `victim` (or be root).
pub fn may_remove_entry(dir: &FileAttr, victim: Option<&FileAttr>, id: &Identity) -> bool {
    may_add_entry(dir, id) && !sticky_denied(dir, victim, id)
}

/// POSIX sticky directories: only root, the directory's owner or the
/// entry's owner may remove or rename an entry.
pub fn sticky_denied(dir: &FileAttr, victim: Option<&FileAttr>, id: &Identity) -> bool {
    dir.mode & STICKY != 0 && !id.is_root() && !id.owns(dir) && victim.is_some_and(|v| !id.owns(v))
}

/// chmod: the owner or root.
pub fn may_chmod(attr: &FileAttr, id: &Identity) -> bool {
    id.is_root() || id.owns(attr)
}

/// chown to `uid`: root only (a no-change chown is allowed to anyone).
pub fn may_chown(attr: &FileAttr, id: &Identity, uid: u32) -> bool {
    uid == attr.uid || id.is_root()
}

/// chgrp to `gid`: root, or the owner to a group it belongs to (a
/// no-change chgrp is allowed to anyone).
pub fn may_chgrp(attr: &FileAttr, id: &Identity, gid: u32) -> bool {
    gid == attr.gid || id.is_root() || (id.owns(attr) && id.in_group(gid))
}

/// utimes: setting explicit times needs ownership; setting them to "now"
/// also write permission (POSIX utimensat).
pub fn may_set_times(attr: &FileAttr, id: &Identity, explicit: bool) -> bool {
    may_chmod(attr, id) || (!explicit && permits(attr, id, W))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::time::Timespec;

    /// An object of `kind` with `mode`, owned by `uid`:`gid` (also the SMB
    /// access mapping's fixture).
    pub(crate) fn attr(mode: u32, uid: u32, gid: u32, kind: FileType) -> FileAttr {
        FileAttr {
            id: 5,
            generation: 1,
            kind,
            mode,
            nlink: 1,
            uid,
            gid,
            size: 0,
            used: 0,
            atime: Timespec::default(),
            mtime: Timespec::default(),
            ctime: Timespec::default(),
            btime: Timespec::default(),
            parent_file: None,
            dos: None,
        }
    }

    fn file(mode: u32, uid: u32, gid: u32) -> FileAttr {
        attr(mode, uid, gid, FileType::Regular)
    }

    #[test]
    fn owner_group_other() {
        let a = file(0o640, 1000, 100);
        let owner = Identity::user(1000, 1, vec![]);
        let group = Identity::user(2000, 100, vec![]);
        let other = Identity::user(3000, 7, vec![]);
        assert!(permits(&a, &owner, R | W) && !permits(&a, &owner, X));
        assert!(permits(&a, &group, R) && !permits(&a, &group, W));
        assert!(!permits(&a, &other, R));
        // The owner class applies even when it grants less than the others.
        let odd = file(0o077, 1000, 100);
        assert_eq!(held(&odd, &owner), 0);
        assert_eq!(held(&odd, &other), 7);
    }

    #[test]
    fn supplementary_groups() {
        let a = file(0o660, 1000, 100);
        assert!(permits(&a, &Identity::user(2000, 7, vec![5, 100]), R | W));
        assert!(!permits(&a, &Identity::user(2000, 7, vec![5, 101]), R));
    }

    #[test]
    fn root_bypasses_unless_mapped() {
        let a = file(0o600, 1000, 100);
        let root = Identity::user(0, 0, vec![]);
        assert!(permits(&a, &root, R | W) && !permits(&a, &root, X));
        assert!(permits(&attr(0o700, 1, 1, FileType::Directory), &root, X));
        assert!(permits(&file(0o001, 1, 1), &root, X));
        // A guest, anonymous or squashed identity mapped to uid 0 is no root.
        for origin in [Origin::Guest, Origin::Anonymous, Origin::Squashed] {
            let mapped = Identity::mapped(0, 0, origin);
            assert!(!mapped.is_root());
            assert!(!permits(&a, &mapped, R));
        }
        assert!(may_chown(&a, &root, 5) && !may_chown(&a, &Identity::user(1000, 100, vec![]), 5));
    }

    #[test]
    fn directory_entries_and_sticky() {
        let dir = attr(0o1777, 0, 0, FileType::Directory);
        let mine = file(0o644, 1000, 100);
        let alice = Identity::user(1000, 100, vec![]);
        let bob = Identity::user(2000, 100, vec![]);
        assert!(may_add_entry(&dir, &bob));
        assert!(may_remove_entry(&dir, Some(&mine), &alice));
        assert!(!may_remove_entry(&dir, Some(&mine), &bob));
        assert!(may_remove_entry(&dir, Some(&mine), &Identity::user(0, 0, vec![])));
        let closed = attr(0o755, 0, 0, FileType::Directory);
        assert!(!may_add_entry(&closed, &alice) && !may_remove_entry(&closed, Some(&mine), &alice));
        let search_only = attr(0o733, 0, 0, FileType::Directory);
        assert!(may_add_entry(&search_only, &alice));
        assert!(!may_add_entry(&attr(0o776, 0, 0, FileType::Directory), &alice));
    }

    #[test]
    fn ownership_changes() {
        let a = file(0o644, 1000, 100);
        let alice = Identity::user(1000, 100, vec![200]);
        assert!(may_chmod(&a, &alice) && !may_chmod(&a, &Identity::user(2000, 100, vec![])));
        assert!(may_chgrp(&a, &alice, 200) && !may_chgrp(&a, &alice, 300));
        assert!(may_chown(&a, &alice, 1000) && !may_chown(&a, &alice, 2000));
        let writer = Identity::user(2000, 100, vec![]);
        let shared = file(0o664, 1000, 100);
        assert!(may_set_times(&shared, &writer, false) && !may_set_times(&shared, &writer, true));
    }
}
