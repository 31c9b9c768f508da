//! Handles confined to their export, "..", MOUNT below an export, and the
//! `secure` export option.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::vfs::{CreateAttr, LocalFs, MemoryFs};

const PERM: u32 = 1;

/// Exports `/a` (read-write, index 0) and `/b` (read-only, index 1) of the
/// directories `a` and `b`; `b/secret` holds data.
fn two_exports(vfs: Box<dyn Vfs>) -> Rig {
    let mut config = Config::default();
    config.nfs.exports = vec![
        Export { name: "/a".into(), path: "/a".into(), ..Export::default() },
        Export { name: "/b".into(), path: "/b".into(), read_only: true, ..Export::default() },
    ];
    let t = Rig::with(config, vfs);
    let (vfs, root) = (t.server.vfs(), t.server.vfs().root());
    let ca = CreateAttr { mode: 0o777, uid: 1000, gid: 1000 };
    vfs.mkdir(root, "a", ca, Timespec::new(1, 0)).unwrap();
    let b = vfs.mkdir(root, "b", ca, Timespec::new(1, 0)).unwrap().id;
    let f = vfs.create(b, "secret", ca, Timespec::new(1, 0)).unwrap().id;
    vfs.write(f, 0, b"B only", Timespec::new(1, 0)).unwrap();
    t
}

/// The same handle with another export index.
fn with_export(fh: &FhBytes, export: u8) -> FhBytes {
    NfsFh3 { export, ..NfsFh3::parse(&fh.0).unwrap() }.to_fh()
}

fn handles_stay_in_their_export(vfs: Box<dyn Vfs>) {
    let mut t = two_exports(vfs);
    let c = t.connect("127.0.0.1:900");
    let a = t.mnt(c, "/a").unwrap();
    let b = t.mnt(c, "/b").unwrap();
    let (secret, _) = t.lookup(c, &b, "secret").unwrap();
    // Under its own export (index 1) the handle works, read-only.
    assert_eq!(t.read(c, &secret, 0, 100).0, b"B only");
    assert_eq!(t.status(c, Nfs3Args::Getattr(secret.clone())), OK);
    // Relabelled with A's index, B's objects are stale: no read, and no
    // write past B's read-only flag.
    let forged = with_export(&secret, 0);
    assert_eq!(t.status(c, Nfs3Args::Getattr(forged.clone())), STALE);
    assert_eq!(t.status(c, Nfs3Args::Read { fh: forged.clone(), offset: 0, count: 100 }), STALE);
    let w = Nfs3Args::Write {
        fh: forged.clone(),
        offset: 0,
        count: 1,
        stable: StableHow::FileSync,
        data: bytes::Bytes::from_static(b"X").into(),
    };
    assert_eq!(t.status(c, w), STALE);
    let b_as_a = with_export(&b, 0);
    let create = |dir: &FhBytes| Nfs3Args::Create { where_: dirop(dir, "planted"), how: CreateHow::Unchecked(Sattr3::default()) };
    assert_eq!(t.status(c, create(&b_as_a)), STALE);
    assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&b_as_a, "secret"))), STALE);
    assert_eq!(t.read(c, &secret, 0, 100).0, b"B only", "unchanged");
    // The other way round too: A's root is not inside B.
    assert_eq!(t.status(c, Nfs3Args::Getattr(with_export(&a, 1))), STALE);
    // A hard link into A (made on the server) puts the file in both.
    let vfs = t.server.vfs();
    let (a_id, f_id) = (NfsFh3::parse(&a.0).unwrap().id, NfsFh3::parse(&secret.0).unwrap().id);
    vfs.link(f_id, a_id, "shared", Timespec::new(2, 0)).unwrap();
    assert_eq!(t.status(c, Nfs3Args::Getattr(forged)), OK);
}

#[test]
fn handles_stay_in_their_export_memory() {
    handles_stay_in_their_export(Box::new(MemoryFs::new()));
}

/// An empty directory under the temp dir, removed on drop.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("polyshare-confine-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn handles_stay_in_their_export_local() {
    let dir = TempRoot::new();
    handles_stay_in_their_export(Box::new(LocalFs::new(&dir.0).unwrap()));
}

#[test]
fn dotdot_and_mount_stay_in_the_export() {
    let mut t = two_exports(Box::new(MemoryFs::new()));
    let c = t.connect("127.0.0.1:900");
    let a = t.mnt(c, "/a").unwrap();
    let a_id = NfsFh3::parse(&a.0).unwrap().id;
    // ".." of an export's root is the root itself, under the same export.
    let (up, attr) = t.lookup(c, &a, "..").unwrap();
    assert_eq!((attr.fileid, NfsFh3::parse(&up.0).unwrap().export), (a_id, 0));
    // One level down, ".." climbs back to the root and no further.
    let body = t.nfs(c, Nfs3Args::Mkdir { where_: dirop(&a, "d"), attr: Sattr3::default() });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    assert!(r.bool().unwrap());
    let d = fh(&mut r);
    let (_, attr) = t.lookup(c, &d, "..").unwrap();
    assert_eq!(attr.fileid, a_id);
    // MNT below an export, never above it or into a sibling.
    assert!(t.mnt(c, "/a/d").is_ok());
    assert_eq!(t.mnt(c, "/a/.."), Err(ACCES));
    assert_eq!(t.mnt(c, "/a/../b"), Err(ACCES));
    assert_eq!(t.mnt(c, "/a/d/../../b/secret"), Err(ACCES));
}

#[test]
fn secure_exports_refuse_high_ports() {
    let mut config = Config::default();
    config.nfs.exports[0].secure = true;
    let mut t = Rig::with(config, test_vfs());
    let low = t.connect("127.0.0.1:1023");
    let high = t.connect("127.0.0.1:1024");
    // MNT: MNT3ERR_ACCES from a high port, as rpc.mountd answers.
    assert_eq!(t.mnt(high, "/share"), Err(ACCES));
    let root = t.mnt(low, "/share").unwrap();
    let (f, _) = t.create(low, &root, "f", CreateHow::Unchecked(Sattr3::default())).unwrap();
    t.write(low, &f, 0, b"low", StableHow::FileSync);
    // Every call with a handle of the export: NFS3ERR_PERM, as knfsd answers.
    assert_eq!(t.status(high, Nfs3Args::Getattr(root.clone())), PERM);
    assert_eq!(t.status(high, Nfs3Args::Read { fh: f.clone(), offset: 0, count: 3 }), PERM);
    let create = Nfs3Args::Create { where_: dirop(&root, "g"), how: CreateHow::Unchecked(Sattr3::default()) };
    assert_eq!(t.status(high, create), PERM);
    assert_eq!(t.read(low, &f, 0, 3).0, b"low");
    // NULL carries no handle and is answered.
    assert!(t.nfs(high, Nfs3Args::Null).is_empty());
    // Off by default: the default export takes high ports.
    let mut t = Rig::new();
    let high = t.connect("127.0.0.1:50000");
    let root = t.mnt(high, "/share").unwrap();
    assert_eq!(t.status(high, Nfs3Args::Getattr(root)), OK);
}
