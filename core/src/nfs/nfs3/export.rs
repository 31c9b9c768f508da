//! Exports: path resolution inside the Vfs, the client address check, uid/gid
//! squashing and the owner/group/other permission check from AUTH_SYS
//! credentials.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use crate::config::{Export, NfsConfig, Squash};
use crate::nfs::rpc::Credentials;
use crate::vfs::{FileAttr, FileType, ObjectId, Vfs, VfsError, VfsResult};

/// Permission bits as in a POSIX mode triplet.
pub const R: u32 = 4;
pub const W: u32 = 2;
pub const X: u32 = 1;

/// Who the export says the caller is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub gids: Vec<u32>,
}

impl Caller {
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.gids.contains(&gid)
    }
}

/// Whether `ip` may use the export (an empty list allows everyone).
pub fn allowed(exp: &Export, ip: IpAddr) -> bool {
    exp.allowed.is_empty() || exp.allowed.iter().any(|r| r.contains(ip))
}

/// Ports below this are reserved: only root may bind them (IPPORT_RESERVED).
pub const RESERVED_PORTS: u16 = 1024;

/// Whether a call from `peer` passes the export's `secure` option: a secure
/// export takes calls only from a reserved source port, as knfsd and mountd
/// require unless an export says `insecure`.
pub fn port_ok(exp: &Export, peer: SocketAddr) -> bool {
    !exp.secure || peer.port() < RESERVED_PORTS
}

/// Maps the call's credentials through the export's squash setting. AUTH_NONE
/// is the anonymous user.
pub fn squash(exp: &Export, cred: &Credentials) -> Caller {
    let anon = Caller { uid: exp.anon_uid, gid: exp.anon_gid, gids: Vec::new() };
    let Credentials::Sys(sys) = cred else { return anon };
    match exp.squash {
        Squash::All => anon,
        Squash::Root => {
            let g = |g: u32| if g == 0 { exp.anon_gid } else { g };
            Caller {
                uid: if sys.uid == 0 { exp.anon_uid } else { sys.uid },
                gid: g(sys.gid),
                gids: sys.gids.iter().map(|x| g(*x)).collect(),
            }
        }
        Squash::None => Caller { uid: sys.uid, gid: sys.gid, gids: sys.gids.clone() },
    }
}

/// POSIX permission check. Root may do anything except execute a
/// non-directory without any execute bit.
pub fn permits(attr: &FileAttr, caller: &Caller, want: u32) -> bool {
    if caller.is_root() {
        return want & X == 0 || attr.kind == FileType::Directory || attr.mode & 0o111 != 0;
    }
    let bits = if caller.uid == attr.uid {
        attr.mode >> 6
    } else if caller.in_group(attr.gid) {
        attr.mode >> 3
    } else {
        attr.mode
    } & 7;
    bits & want == want
}

/// The directory a Vfs path ("/", "/a/b") names, walked from the Vfs root.
pub fn resolve_path(vfs: &dyn Vfs, path: &str) -> VfsResult<FileAttr> {
    let mut cur = vfs.getattr(vfs.root())?;
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if cur.kind != FileType::Directory {
            return Err(VfsError::NotDir);
        }
        cur = if comp == ".." { vfs.getattr(vfs.parent(cur.id)?)? } else { vfs.lookup(cur.id, comp)? };
    }
    Ok(cur)
}

/// The id of the export's root directory, found by its path.
pub fn root_of(vfs: &dyn Vfs, exp: &Export) -> VfsResult<ObjectId> {
    resolve_path(vfs, &exp.path).map(|a| a.id)
}

/// The export a MOUNT dirpath names: its index and the path below the export
/// ("" for the export itself). Trailing slashes are ignored; exports whose
/// index is in `retired` (removed by a reconfiguration) match nothing.
pub fn find_export<'a>(cfg: &NfsConfig, retired: &BTreeSet<usize>, dirpath: &'a str) -> Option<(usize, &'a str)> {
    let want = dirpath.trim_end_matches('/');
    cfg.exports.iter().enumerate().filter(|(i, _)| !retired.contains(i)).find_map(|(i, e)| {
        let name = e.name.trim_end_matches('/');
        if want == name {
            Some((i, ""))
        } else {
            want.strip_prefix(name).and_then(|rest| rest.strip_prefix('/')).map(|rest| (i, rest))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AddrRange;
    use crate::nfs::rpc::AuthSys;
    use crate::time::Timespec;

    fn attr(mode: u32, uid: u32, gid: u32, kind: FileType) -> FileAttr {
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
        }
    }

    fn sys(uid: u32, gid: u32, gids: Vec<u32>) -> Credentials {
        Credentials::Sys(AuthSys { uid, gid, gids, ..AuthSys::default() })
    }

    #[test]
    fn squashing() {
        let mut e = Export::default();
        assert_eq!(squash(&e, &sys(0, 0, vec![0, 4])), Caller { uid: 65534, gid: 65534, gids: vec![65534, 4] });
        assert_eq!(squash(&e, &sys(1000, 100, vec![])).uid, 1000);
        assert_eq!(squash(&e, &Credentials::None).uid, 65534);
        e.squash = Squash::None;
        assert!(squash(&e, &sys(0, 0, vec![])).is_root());
        e.squash = Squash::All;
        assert_eq!(squash(&e, &sys(1000, 100, vec![])).uid, 65534);
    }

    #[test]
    fn mode_bits() {
        let a = attr(0o640, 1000, 100, FileType::Regular);
        let owner = Caller { uid: 1000, gid: 1, gids: vec![] };
        let group = Caller { uid: 2000, gid: 7, gids: vec![100] };
        let other = Caller { uid: 3000, gid: 7, gids: vec![] };
        let root = Caller::default();
        assert!(permits(&a, &owner, R | W) && !permits(&a, &owner, X));
        assert!(permits(&a, &group, R) && !permits(&a, &group, W));
        assert!(!permits(&a, &other, R));
        assert!(permits(&a, &root, R | W) && !permits(&a, &root, X));
        assert!(permits(&attr(0o700, 1, 1, FileType::Directory), &root, X));
    }

    #[test]
    fn addresses_and_paths() {
        let mut e = Export::default();
        assert!(allowed(&e, "192.0.2.1".parse().unwrap()));
        e.allowed = vec![AddrRange { addr: "10.0.0.0".parse().unwrap(), prefix: 8 }];
        assert!(allowed(&e, "10.9.8.7".parse().unwrap()));
        assert!(!allowed(&e, "192.0.2.1".parse().unwrap()));
        let cfg = NfsConfig::default();
        assert_eq!(find_export(&cfg, &BTreeSet::new(), "/share"), Some((0, "")));
        assert_eq!(find_export(&cfg, &BTreeSet::new(), "/share/"), Some((0, "")));
        assert_eq!(find_export(&cfg, &BTreeSet::new(), "/share/a/b"), Some((0, "a/b")));
        assert_eq!(find_export(&cfg, &BTreeSet::new(), "/shared"), None);
        assert_eq!(find_export(&cfg, &BTreeSet::new(), "/"), None);
    }
}
