//! Exports: path resolution inside the Vfs, the client address check and
//! uid/gid squashing of AUTH_SYS credentials into an [`Identity`] (the
//! permission check itself is `crate::access`, shared with SMB).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use crate::access::{Identity, Origin};
use crate::config::{Export, NfsConfig, Squash};
use crate::nfs::rpc::Credentials;
use crate::vfs::{FileAttr, FileType, ObjectId, Vfs, VfsError, VfsResult};

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
pub fn squash(exp: &Export, cred: &Credentials) -> Identity {
    let Credentials::Sys(sys) = cred else { return Identity::mapped(exp.anon_uid, exp.anon_gid, Origin::Anonymous) };
    match exp.squash {
        Squash::All => Identity::mapped(exp.anon_uid, exp.anon_gid, Origin::Squashed),
        Squash::Root => {
            let g = |g: u32| if g == 0 { exp.anon_gid } else { g };
            let groups = sys.gids.iter().map(|x| g(*x)).collect();
            match sys.uid {
                0 => Identity { uid: exp.anon_uid, gid: g(sys.gid), groups, origin: Origin::Squashed },
                uid => Identity::user(uid, g(sys.gid), groups),
            }
        }
        Squash::None => Identity::user(sys.uid, sys.gid, sys.gids.clone()),
    }
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
    // Every NFS call asks: an export of the Vfs root is known without a
    // look at storage.
    if exp.path.split('/').all(|c| c.is_empty() || c == ".") {
        return Ok(vfs.root());
    }
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

    fn sys(uid: u32, gid: u32, gids: Vec<u32>) -> Credentials {
        Credentials::Sys(AuthSys { uid, gid, gids, ..AuthSys::default() })
    }

    #[test]
    fn squashing() {
        let mut e = Export::default();
        let squashed = Identity { uid: 65534, gid: 65534, groups: vec![65534, 4], origin: Origin::Squashed };
        assert_eq!(squash(&e, &sys(0, 0, vec![0, 4])), squashed);
        assert!(!squashed.is_root());
        assert_eq!(squash(&e, &sys(1000, 100, vec![])).uid, 1000);
        assert_eq!(squash(&e, &Credentials::None), Identity::mapped(65534, 65534, Origin::Anonymous));
        e.squash = Squash::None;
        assert!(squash(&e, &sys(0, 0, vec![])).is_root());
        e.squash = Squash::All;
        assert_eq!(squash(&e, &sys(1000, 100, vec![])).uid, 65534);
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
