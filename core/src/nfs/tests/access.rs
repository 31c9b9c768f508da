//! Exports, addresses, permissions, the lease hook and parked calls.

use super::*;

#[test]
fn exports_addresses_read_only_and_permissions() {
    let mut config = Config::default();
    config.nfs.port = 3049;
    config.nfs.exports.push(Export {
        name: "/ro".into(),
        read_only: true,
        allowed: vec![AddrRange { addr: "10.0.0.0".parse().unwrap(), prefix: 8 }],
        ..Export::default()
    });
    let mut t = Rig::with(config, test_vfs());
    let local = t.connect("127.0.0.1:900");
    let lan = t.connect("10.1.2.3:900");
    assert_eq!(t.mnt(local, "/nope"), Err(2));
    assert_eq!(t.mnt(local, "/ro"), Err(13));
    let ro = t.mnt(lan, "/ro").unwrap();
    assert_eq!(t.create(lan, &ro, "f", CreateHow::Unchecked(Sattr3::default())), Err(ROFS));
    // The /ro handle from a client the export does not allow.
    assert_eq!(t.status(local, Nfs3Args::Getattr(ro.clone())), ACCES);

    // EXPORT lists both exports with their groups.
    let body = t.call(local, PROG_MOUNT, 3, MOUNTPROC3_EXPORT, &[]);
    let mut r = XdrReader::new(&body);
    let mut exports = Vec::new();
    while r.bool().unwrap() {
        let dir = String::from_utf8(r.string(1024).unwrap().to_vec()).unwrap();
        let mut groups = Vec::new();
        while r.bool().unwrap() {
            groups.push(String::from_utf8(r.string(1024).unwrap().to_vec()).unwrap());
        }
        exports.push((dir, groups));
    }
    assert_eq!(exports, vec![("/share".into(), vec!["*".into()]), ("/ro".into(), vec!["10.0.0.0/8".to_string()])]);
    let body = t.call(local, PROG_MOUNT, 3, MOUNTPROC3_DUMP, &[]);
    let mut r = XdrReader::new(&body);
    assert!(r.bool().unwrap());
    assert_eq!((r.string(64).unwrap(), r.string(64).unwrap()), (&b"10.1.2.3"[..], &b"/ro"[..]));
    assert!(!r.bool().unwrap());
    let mut w = XdrWriter::new();
    w.string("/ro");
    t.call(lan, PROG_MOUNT, 3, MOUNTPROC3_UMNT, w.as_slice());
    assert!(t.server.nfs_shared().mounts.is_empty());

    // Portmapper: NFS and MOUNT v3 over TCP on the configured port.
    let getport = |t: &mut Rig, prog: u32, vers: u32, prot: u32| {
        let mut w = XdrWriter::new();
        w.u32(prog).u32(vers).u32(prot).u32(0);
        let body = t.call(local, PROG_PORTMAP, 2, PMAPPROC_GETPORT, w.as_slice());
        XdrReader::new(&body).u32().unwrap()
    };
    assert_eq!(getport(&mut t, PROG_NFS, 3, IPPROTO_TCP), 3049);
    assert_eq!(getport(&mut t, PROG_MOUNT, 3, IPPROTO_TCP), 3049);
    assert_eq!(getport(&mut t, PROG_NFS, 2, IPPROTO_TCP), 0);
    assert_eq!(getport(&mut t, PROG_NFS, 3, 17), 0);
    assert_eq!(t.call(local, PROG_PORTMAP, 2, PMAPPROC_DUMP, &[]).len(), 4 * 5 * 2 + 4);

    // Permissions from AUTH_SYS: uid 1000 makes a private file, uid 2000 cannot read it.
    let root = t.mnt(local, "/share").unwrap();
    let (f, _) = t
        .create(local, &root, "private", CreateHow::Guarded(Sattr3 { mode: Some(0o600), ..Sattr3::default() }))
        .unwrap();
    t.write(local, &f, 0, b"secret", StableHow::FileSync);
    t.cred = user(2000);
    assert_eq!(t.status(local, Nfs3Args::Read { fh: f.clone(), offset: 0, count: 10 }), ACCES);
    let body = t.nfs(local, Nfs3Args::Access { fh: f.clone(), access: 0x3f });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    post_op(&mut r).unwrap();
    assert_eq!(r.u32().unwrap(), 0);
    let set = Sattr3 { mode: Some(0o666), ..Sattr3::default() };
    assert_eq!(t.status(local, Nfs3Args::Setattr { fh: f.clone(), attr: set, guard: None }), 1, "NFS3ERR_PERM");
    // Root is squashed to nobody by default.
    t.cred = user(0);
    assert_eq!(t.status(local, Nfs3Args::Read { fh: f.clone(), offset: 0, count: 10 }), ACCES);
    t.cred = user(1000);
    let body = t.nfs(local, Nfs3Args::Access { fh: f.clone(), access: 0x3f });
    let mut r = XdrReader::new(&body);
    r.u32().unwrap();
    post_op(&mut r).unwrap();
    assert_eq!(r.u32().unwrap(), 0x01 | 0x04 | 0x08);
}

#[test]
fn lease_operations_per_procedure() {
    use crate::nfs::nfs3::lease::{LeaseOp, lease_ops};
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let (f, a) = t.create(c, &root, "l", CreateHow::Unchecked(Sattr3::default())).unwrap();
    let id = a.fileid;
    let (core, nfs) = (t.server.core(), t.server.nfs_shared());
    let peer: SocketAddr = "127.0.0.1:900".parse().unwrap();
    assert_eq!(lease_ops(core, nfs, peer, &Nfs3Args::Read { fh: f.clone(), offset: 0, count: 1 }), vec![LeaseOp::Read(id)]);
    let set = Sattr3 { size: Some(0), mode: Some(0o600), ..Sattr3::default() };
    assert_eq!(
        lease_ops(core, nfs, peer, &Nfs3Args::Setattr { fh: f.clone(), attr: set, guard: None }),
        vec![LeaseOp::SetEndOfFile(id), LeaseOp::SetSecurity(id)]
    );
    // A name removed also changes its directory (directory leases).
    let dir = t.server.vfs().root();
    assert_eq!(
        lease_ops(core, nfs, peer, &Nfs3Args::Remove(dirop(&root, "l"))),
        vec![LeaseOp::Delete(id), LeaseOp::ChildChange(dir)]
    );
    assert_eq!(lease_ops(core, nfs, peer, &Nfs3Args::Commit { fh: f.clone(), offset: 0, count: 0 }), vec![]);
    assert_eq!(lease_ops(core, nfs, peer, &Nfs3Args::Getattr(f)), vec![]);
}

#[test]
fn sticky_directories_protect_other_users_entries() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let set = Sattr3 { mode: Some(0o1777), ..Sattr3::default() };
    let body = t.nfs(c, Nfs3Args::Mkdir { where_: dirop(&root, "tmp"), attr: set });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    assert!(r.bool().unwrap());
    let tmp = FhBytes::decode(&mut r).unwrap();
    t.create(c, &tmp, "mine", CreateHow::Unchecked(Sattr3::default())).unwrap();
    t.cred = user(2000);
    t.create(c, &tmp, "theirs", CreateHow::Unchecked(Sattr3::default())).unwrap();
    assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&tmp, "mine"))), ACCES);
    let rename = Nfs3Args::Rename { from: dirop(&tmp, "mine"), to: dirop(&tmp, "x") };
    assert_eq!(t.status(c, rename), ACCES);
    let rename = Nfs3Args::Rename { from: dirop(&tmp, "theirs"), to: dirop(&tmp, "mine") };
    assert_eq!(t.status(c, rename), ACCES, "replacing another user's entry");
    assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&tmp, "theirs"))), OK);
    t.cred = user(1000);
    assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&tmp, "mine"))), OK);
}
