//! Limits and security checks over NFS (issue "Robustness"): each test sets
//! a small limit and fails when the check it names is removed.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::vfs::LocalFs;

#[test]
fn nfs_oversized_record_closes_the_connection() {
    let mut config = Config::default();
    config.limits.max_frame = 1024;
    let mut t = Rig::with(config, test_vfs());
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    // A record at the limit is served.
    let mut w = XdrWriter::new();
    rpc::encode_call(&mut w, 1, PROG_NFS, 3, proc_::GETATTR, &t.cred);
    Nfs3Args::Getattr(root).encode(&mut w);
    let mut body = w.as_slice().to_vec();
    body.resize(1024, 0);
    assert_eq!(t.record(c, &body).len(), 1);
    // One byte more: the connection is closed, nothing answered.
    body.push(0);
    let out = t.input(c, &encode_frame(Transport::RpcRecordMarking, &body));
    assert!(out.iter().any(|o| matches!(o, Output::Close { conn } if *conn == c)), "{out:?}");
    assert!(!out.iter().any(|o| matches!(o, Output::Transmit { .. })));
}

// Parked-call limits (server-wide and per connection) are tested with real
// lease breaks in cross_tests::nfs_vs_lease::parked_limits_answer_jukebox.

#[test]
fn nfs_readdir_returns_at_most_max_dir_entries() {
    let mut config = Config::default();
    config.limits.max_dir_entries = 3;
    let mut t = Rig::with(config, test_vfs());
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    for i in 0..7 {
        t.create(c, &root, &format!("f{i}"), CreateHow::Unchecked(Sattr3::default())).unwrap();
    }
    // READDIRPLUS with a huge maxcount still gets at most 3 entries a call.
    let (mut cookie, mut names) = (0, Vec::new());
    loop {
        let (page, eof) = t.readdirplus(c, &root, cookie, 1 << 20);
        assert!(page.len() <= 3, "{page:?}");
        if let Some((_, last)) = page.last() {
            cookie = *last;
        }
        names.extend(page.into_iter().map(|(n, _)| n));
        if eof {
            break;
        }
    }
    assert_eq!(names.len(), 9, ". .. and 7 files: {names:?}");
    // READDIR: the same bound, and the client's count is honoured.
    for count in [1 << 20, 200] {
        let body = t.nfs(c, Nfs3Args::Readdir { fh: root.clone(), cookie: 0, verf: [0; 8], count });
        assert!(body.len() <= count as usize);
        let mut r = XdrReader::new(&body);
        assert_eq!(r.u32().unwrap(), OK);
        post_op(&mut r).unwrap();
        r.u64().unwrap();
        let mut n = 0;
        while r.bool().unwrap() {
            r.u64().unwrap();
            r.string(255).unwrap();
            r.u64().unwrap();
            n += 1;
        }
        assert!(!r.bool().unwrap(), "not eof");
        assert!((1..=3).contains(&n), "count={count}: {n} entries");
    }
}

#[test]
fn nfs_clients_outside_the_allowed_addresses_get_acces() {
    let mut config = Config::default();
    config.nfs.exports[0].allowed = vec![AddrRange { addr: "10.0.0.0".parse().unwrap(), prefix: 8 }];
    let mut t = Rig::with(config, test_vfs());
    let lan = t.connect("10.1.2.3:900");
    let other = t.connect("192.0.2.7:900");
    let root = t.mnt(lan, "/share").unwrap();
    let (f, _) = t.create(lan, &root, "f", CreateHow::Unchecked(Sattr3::default())).unwrap();
    t.write(lan, &f, 0, b"data", StableHow::FileSync);
    assert_eq!(t.mnt(other, "/share"), Err(ACCES));
    // Handles learnt elsewhere do not help.
    assert_eq!(t.status(other, Nfs3Args::Getattr(root.clone())), ACCES);
    assert_eq!(t.status(other, Nfs3Args::Read { fh: f.clone(), offset: 0, count: 4 }), ACCES);
    assert_eq!(t.status(other, Nfs3Args::Lookup(dirop(&root, "f"))), ACCES);
    let w = Nfs3Args::Write {
        fh: f.clone(),
        offset: 0,
        count: 1,
        stable: StableHow::FileSync,
        data: bytes::Bytes::from_static(b"x").into(),
    };
    assert_eq!(t.status(other, w), ACCES);
    assert_eq!(t.read(lan, &f, 0, 10).0, b"data");
}

#[test]
fn nfs_writes_to_a_read_only_export_fail_with_rofs() {
    let mut config = Config::default();
    config.nfs.exports.push(Export { name: "/ro".into(), read_only: true, ..Export::default() });
    let mut t = Rig::with(config, test_vfs());
    let c = t.connect("127.0.0.1:900");
    let rw = t.mnt(c, "/share").unwrap();
    t.create(c, &rw, "f", CreateHow::Unchecked(Sattr3::default())).unwrap();
    let ro = t.mnt(c, "/ro").unwrap();
    let (f, _) = t.lookup(c, &ro, "f").unwrap();
    let w = Nfs3Args::Write {
        fh: f.clone(),
        offset: 0,
        count: 1,
        stable: StableHow::FileSync,
        data: bytes::Bytes::from_static(b"x").into(),
    };
    assert_eq!(t.status(c, w), ROFS);
    assert_eq!(t.create(c, &ro, "g", CreateHow::Unchecked(Sattr3::default())), Err(ROFS));
    assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&ro, "f"))), ROFS);
    let size0 = Sattr3 { size: Some(0), ..Sattr3::default() };
    assert_eq!(t.status(c, Nfs3Args::Setattr { fh: f.clone(), attr: size0, guard: None }), ROFS);
    assert_eq!(t.read(c, &f, 0, 1).0, b"", "reads still work");
}

/// A LocalFs root under the temp dir next to files outside it.
struct Escape {
    base: PathBuf,
    root: PathBuf,
}

impl Escape {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("polyshare-escape-nfs-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let root = base.join("root");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::create_dir(base.join("out")).unwrap();
        fs::write(base.join("out/x"), b"OUTSIDE").unwrap();
        fs::write(base.join("x"), b"OUTSIDE").unwrap();
        std::os::unix::fs::symlink(base.join("out"), root.join("sym")).unwrap();
        std::os::unix::fs::symlink(base.join("out/x"), root.join("symf")).unwrap();
        Self { base, root }
    }
}

impl Drop for Escape {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

#[test]
fn local_fs_escapes_over_nfs_fail() {
    let e = Escape::new();
    let mut config = Config::default();
    config.nfs.exports[0].squash = crate::config::Squash::None;
    let mut t = Rig::with(config, Box::new(LocalFs::new(&e.root).unwrap()));
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let root_id = NfsFh3::parse(&root.0).unwrap().id;
    // ".." of the root (or of a directory just below it) is never above the root.
    let (sub, _) = t.lookup(c, &root, "sub").unwrap();
    for start in [&root, &sub] {
        if let Ok((h, _)) = t.lookup(c, start, "..") {
            assert_eq!(NfsFh3::parse(&h.0).unwrap().id, root_id, "never above the root");
        }
    }
    assert_eq!(t.lookup(c, &root, "x").err(), Some(NOENT), "the outside x is not visible");
    assert_eq!(t.lookup(c, &root, "out").err(), Some(NOENT));
    // Names with separators or absolute names.
    for bad in ["../x", "/x", "sym/x", "../out/x", &format!("{}", e.base.join("x").display())] {
        let r = t.lookup(c, &root, bad);
        assert!(r.is_err(), "{bad:?}");
    }
    // The symlink is an object of its own: not a directory to walk through,
    // not a file to read or write.
    let (sym, a) = t.lookup(c, &root, "sym").unwrap();
    assert_eq!(a.ftype, 5, "NF3LNK");
    assert_eq!(t.lookup(c, &sym, "x").err(), Some(NOTDIR));
    let (symf, _) = t.lookup(c, &root, "symf").unwrap();
    let read = t.status(c, Nfs3Args::Read { fh: symf.clone(), offset: 0, count: 100 });
    assert_ne!(read, OK);
    let w = Nfs3Args::Write {
        fh: symf,
        offset: 0,
        count: 1,
        stable: StableHow::FileSync,
        data: bytes::Bytes::from_static(b"X").into(),
    };
    assert_ne!(t.status(c, w), OK);
    assert_eq!(t.create(c, &sym, "new", CreateHow::Unchecked(Sattr3::default())).err(), Some(NOTDIR));
    assert_eq!(fs::read(e.base.join("out/x")).unwrap(), b"OUTSIDE");
    assert!(!e.base.join("out/new").exists());
}

/// Fires the deadlines due at `at`; whether `conn` was closed.
fn closed_at(t: &mut Rig, conn: ConnId, at: Instant) -> bool {
    t.server.handle_timeout(at);
    std::iter::from_fn(|| t.server.poll_output()).any(|o| matches!(o, Output::Close { conn: c } if c == conn))
}

#[test]
fn idle_nfs_connections_close_after_the_idle_time() {
    let idle = Duration::from_secs(300);
    let mut config = Config::default();
    config.limits.nfs_idle_timeout = Some(idle);
    let mut t = Rig::with(config, test_vfs());
    let start = t.now;
    let quiet = t.connect("127.0.0.1:900");
    let busy = t.connect("127.0.0.1:901");
    assert_eq!(t.server.poll_timeout(), Some(start + idle));
    // The busy one calls 100 s in: its idle time starts again from there.
    t.now = start + Duration::from_secs(100);
    let root = t.mnt(busy, "/share").unwrap();
    let last_call = t.now;
    assert!(!closed_at(&mut t, quiet, start + idle - Duration::from_micros(1)), "1 µs early");
    let out = {
        t.server.handle_timeout(start + idle);
        std::iter::from_fn(|| t.server.poll_output()).collect::<Vec<_>>()
    };
    assert_eq!(out, vec![Output::Close { conn: quiet }], "only the quiet one, exactly on time");
    assert_eq!(t.server.stats().nfs_idle_closed, 1);
    t.now = start + idle;
    assert_eq!(t.status(busy, Nfs3Args::Getattr(root)), OK, "the busy one is served");
    let last_call = last_call.max(t.now);
    assert!(!closed_at(&mut t, busy, last_call + idle - Duration::from_micros(1)));
    assert!(closed_at(&mut t, busy, last_call + idle));
    assert_eq!(t.server.connection_count(), 0);
    assert_eq!(t.server.poll_timeout(), None, "no deadline outlives its connection");
}

#[test]
fn nfs_idle_timeout_can_be_turned_off() {
    for off in [None, Some(Duration::ZERO)] {
        let mut config = Config::default();
        config.limits.nfs_idle_timeout = off;
        let mut t = Rig::with(config, test_vfs());
        let c = t.connect("127.0.0.1:900");
        assert_eq!(t.server.poll_timeout(), None, "{off:?}");
        let much_later = t.now + Duration::from_secs(365 * 24 * 3600);
        assert!(!closed_at(&mut t, c, much_later), "{off:?}");
    }
}

#[test]
fn smb_and_nfs_connection_caps_are_separate() {
    use crate::server::AcceptError;
    let mut config = Config::default();
    config.limits.max_nfs_connections = 3;
    config.limits.max_smb_connections = 2;
    let mut t = Rig::with(config, test_vfs());
    let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    let nfs: Vec<ConnId> = (0..3).map(|_| t.server.accept(Protocol::Nfs, peer, t.now).unwrap()).collect();
    let full = Err(AcceptError::ProtocolLimit { protocol: Protocol::Nfs, max: 3 });
    assert_eq!(t.server.accept(Protocol::Nfs, peer, t.now), full);
    // NFS is full; SMB still has its own slots.
    let smb = t.server.accept(Protocol::Smb, peer, t.now).unwrap();
    t.server.accept(Protocol::Smb, peer, t.now).unwrap();
    let full = Err(AcceptError::ProtocolLimit { protocol: Protocol::Smb, max: 2 });
    assert_eq!(t.server.accept(Protocol::Smb, peer, t.now), full);
    // A closed connection frees a slot of its own protocol only.
    t.server.handle_closed(nfs[0], t.now);
    assert_eq!(t.server.accept(Protocol::Smb, peer, t.now), full);
    assert!(t.server.accept(Protocol::Nfs, peer, t.now).is_ok());
    t.server.handle_closed(smb, t.now);
    assert!(t.server.accept(Protocol::Smb, peer, t.now).is_ok());
    // The overall ceiling still applies over both.
    let mut config = Config::default();
    config.limits.max_connections = 2;
    let mut t = Rig::with(config, test_vfs());
    t.server.accept(Protocol::Nfs, peer, t.now).unwrap();
    t.server.accept(Protocol::Nfs, peer, t.now).unwrap();
    assert_eq!(t.server.accept(Protocol::Smb, peer, t.now), Err(AcceptError::TooManyConnections(2)));
}
