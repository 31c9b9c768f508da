//! File and directory procedures end to end.

use super::*;

#[test]
fn mount_create_write_commit_read_rename_remove() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    assert!(t.call(c, PROG_MOUNT, 3, MOUNTPROC3_NULL, &[]).is_empty());
    let root = t.mnt(c, "/share").unwrap();

    // FSINFO as libnfs asks for it after MNT.
    let body = t.nfs(c, Nfs3Args::Fsinfo(root.clone()));
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    assert_eq!(post_op(&mut r).unwrap().ftype, 2);
    let sizes: Vec<u32> = (0..7).map(|_| r.u32().unwrap()).collect();
    assert_eq!(sizes, vec![1 << 20, 1 << 20, 4096, 1 << 20, 1 << 20, 4096, 1 << 20]);
    r.u64().unwrap();
    assert_eq!((r.u32().unwrap(), r.u32().unwrap()), (0, 1), "time_delta 1 ns");
    assert_eq!(r.u32().unwrap(), 0x1b);

    let (file, a) =
        t.create(c, &root, "a.txt", CreateHow::Guarded(Sattr3 { mode: Some(0o640), ..Sattr3::default() })).unwrap();
    assert_eq!((a.ftype, a.mode, a.uid, a.size), (1, 0o640, 1000, 0));
    assert_eq!(t.create(c, &root, "a.txt", CreateHow::Guarded(Sattr3::default())), Err(EXIST));

    let (committed, verf) = t.write(c, &file, 0, b"hello world", StableHow::Unstable);
    assert_eq!(committed, 0);
    let (_, verf2) = t.write(c, &file, 6, b"WORLD", StableHow::Unstable);
    assert_eq!(verf, verf2, "one write verifier per server");
    assert!(t.server.nfs_shared().dirty.contains(&NfsFh3::parse(&file.0).unwrap().id));
    let body = t.nfs(c, Nfs3Args::Commit { fh: file.clone(), offset: 0, count: 0 });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    assert_eq!(wcc(&mut r).1.unwrap().size, 11);
    assert_eq!(r.fixed::<8>().unwrap(), verf);
    assert!(t.server.nfs_shared().dirty.is_empty());
    assert_eq!(t.write(c, &file, 11, b"!", StableHow::FileSync).0, 2);

    assert_eq!(t.read(c, &file, 0, 100), (b"hello WORLD!".to_vec(), true));
    assert_eq!(t.read(c, &file, 6, 3), (b"WOR".to_vec(), false));

    let (same, a) = t.lookup(c, &root, "a.txt").unwrap();
    assert_eq!((same.clone(), a.size), (file.clone(), 12));
    assert_eq!(t.lookup(c, &root, "nope"), Err(NOENT));
    assert_eq!(t.lookup(c, &file, "x"), Err(NOTDIR));
    // ".." of the export root is the root itself.
    assert_eq!(t.lookup(c, &root, "..").unwrap().0, root);

    let body = t.nfs(c, Nfs3Args::Rename { from: dirop(&root, "a.txt"), to: dirop(&root, "b.txt") });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    assert!(wcc(&mut r).1.is_some() && wcc(&mut r).1.is_some());
    assert_eq!(t.lookup(c, &root, "a.txt"), Err(NOENT));
    assert_eq!(t.lookup(c, &root, "b.txt").unwrap().0, file);

    let body = t.nfs(c, Nfs3Args::Remove(dirop(&root, "b.txt")));
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    let (pre, post) = wcc(&mut r);
    assert!(pre.is_some() && post.is_some());
    assert_eq!(t.status(c, Nfs3Args::Getattr(file.clone())), STALE);
    assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&root, "b.txt"))), NOENT);
}

#[test]
fn directories_links_and_symlinks() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let body = t.nfs(c, Nfs3Args::Mkdir { where_: dirop(&root, "d"), attr: Sattr3::default() });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    assert!(r.bool().unwrap());
    let d = fh(&mut r);
    assert_eq!(post_op(&mut r).unwrap().mode, 0o755);
    let (f, _) = t.create(c, &d, "f", CreateHow::Unchecked(Sattr3::default())).unwrap();

    let body = t.nfs(c, Nfs3Args::Link { fh: f.clone(), link: dirop(&root, "hard") });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    assert_eq!(post_op(&mut r).unwrap().nlink, 2);
    assert_eq!(t.lookup(c, &root, "hard").unwrap().0, f);
    assert_eq!(t.lookup(c, &d, "..").unwrap().0, root);

    let args = Nfs3Args::Symlink { where_: dirop(&root, "s"), attr: Sattr3::default(), target: b"d/f".to_vec() };
    assert_eq!(t.status(c, args), OK);
    let (s, a) = t.lookup(c, &root, "s").unwrap();
    assert_eq!(a.ftype, 5);
    let body = t.nfs(c, Nfs3Args::Readlink(s));
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    post_op(&mut r);
    assert_eq!(r.string(100).unwrap(), b"d/f");

    assert_eq!(t.status(c, Nfs3Args::Rmdir(dirop(&root, "d"))), NOTEMPTY);
    assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&d, "f"))), OK);
    assert_eq!(t.status(c, Nfs3Args::Rmdir(dirop(&root, "d"))), OK);
    // The hard link keeps the file alive.
    assert_eq!(t.status(c, Nfs3Args::Getattr(f)), OK);

    let mknod = Nfs3Args::Mknod { where_: dirop(&root, "p"), what: crate::nfs::nfs3::args::MknodData::Other(1) };
    assert_eq!(t.status(c, mknod), NOTSUPP);
    for p in [proc_::FSSTAT, proc_::PATHCONF] {
        let args = if p == proc_::FSSTAT { Nfs3Args::Fsstat(root.clone()) } else { Nfs3Args::Pathconf(root.clone()) };
        assert_eq!(t.status(c, args), OK);
    }
}

#[test]
fn exclusive_create_is_idempotent_per_verifier() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let (a, _) = t.create(c, &root, "x", CreateHow::Exclusive(*b"verf0001")).unwrap();
    let (b, _) = t.create(c, &root, "x", CreateHow::Exclusive(*b"verf0001")).unwrap();
    assert_eq!(a, b, "a retransmission finds its file");
    assert_eq!(t.create(c, &root, "x", CreateHow::Exclusive(*b"verf0002")), Err(EXIST));
    // Then the client sets the real attributes.
    let set = Sattr3 { mode: Some(0o600), mtime: SetTime::ServerTime, ..Sattr3::default() };
    let body = t.nfs(c, Nfs3Args::Setattr { fh: a.clone(), attr: set, guard: None });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    let post = wcc(&mut r).1.unwrap();
    assert_eq!(post.mode, 0o600);
    let wall = t.server.core().wall(t.now);
    assert_eq!(post.mtime, (wall.secs as u32, wall.nanos), "SET_TO_SERVER_TIME is the core's wall clock");
    assert_eq!(t.create(c, &root, "x", CreateHow::Exclusive(*b"verf0001")).unwrap().0, a, "still a retransmission");
    // Once written, the file is no longer the one that CREATE made.
    t.write(c, &a, 0, b"data", StableHow::Unstable);
    assert_eq!(t.create(c, &root, "x", CreateHow::Exclusive(*b"verf0001")), Err(EXIST));
}

#[test]
fn readdirplus_pages_survive_removals() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let names: Vec<String> = (0..30).map(|i| format!("file{i:02}")).collect();
    for n in &names {
        t.create(c, &root, n, CreateHow::Unchecked(Sattr3::default())).unwrap();
    }
    assert_eq!(
        t.status(c, Nfs3Args::Readdirplus { fh: root.clone(), cookie: 0, verf: [0; 8], dircount: 0, maxcount: 100 }),
        TOOSMALL
    );

    let mut seen = Vec::new();
    let mut cookie = 0;
    let mut removed = Vec::new();
    let mut pages = 0;
    loop {
        let (entries, eof) = t.readdirplus(c, &root, cookie, 1200);
        pages += 1;
        assert!(!entries.is_empty() || eof);
        for (n, ck) in &entries {
            seen.push(n.clone());
            cookie = *ck;
        }
        if eof {
            break;
        }
        // Remove one entry already listed and one not listed yet.
        let last_seen = seen.last().unwrap().clone();
        if last_seen.starts_with("file") {
            assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&root, &last_seen))), OK);
        }
        if let Some(ahead) = names.iter().rev().find(|n| !seen.contains(n) && !removed.contains(*n)) {
            assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&root, ahead))), OK);
            removed.push(ahead.clone());
        }
    }
    assert!(pages > 3, "small pages: {pages}");
    assert_eq!(seen[..2], [".".to_string(), "..".to_string()]);
    let mut expect: Vec<String> = names.iter().filter(|n| !removed.contains(n)).cloned().collect();
    expect.sort();
    let mut got: Vec<String> = seen[2..].to_vec();
    got.sort();
    assert_eq!(got, expect, "every entry not removed ahead is listed exactly once");

    // Plain READDIR lists what is left.
    let body = t.nfs(c, Nfs3Args::Readdir { fh: root.clone(), cookie: 0, verf: [0; 8], count: 65536 });
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
    assert!(r.bool().unwrap(), "eof");
    let left = t.server.vfs().readdir(t.server.vfs().root(), 0, 1000).unwrap().0.len();
    assert_eq!(n, left + 2);
}

#[test]
fn setattr_guard_and_truncate() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let (f, a) = t.create(c, &root, "g", CreateHow::Unchecked(Sattr3::default())).unwrap();
    t.write(c, &f, 0, b"0123456789", StableHow::Unstable);
    let stale = Timespec::new(a.ctime.0 as i64 + 1000, 0);
    let set = Sattr3 { size: Some(4), ..Sattr3::default() };
    let body = t.nfs(c, Nfs3Args::Setattr { fh: f.clone(), attr: set, guard: Some(stale) });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), NOT_SYNC);
    let (pre, post) = wcc(&mut r);
    assert_eq!((pre, post.map(|p| p.size)), (Some(10), Some(10)));
    let cur = t.lookup(c, &root, "g").unwrap().1.ctime;
    let guard = Some(Timespec::new(cur.0 as i64, cur.1));
    let body = t.nfs(c, Nfs3Args::Setattr { fh: f.clone(), attr: set, guard });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    assert_eq!(wcc(&mut r).1.unwrap().size, 4);
    assert_eq!(t.read(c, &f, 0, 100), (b"0123".to_vec(), true));
    // UNCHECKED CREATE of an existing file with size 0 truncates it.
    let (same, a) =
        t.create(c, &root, "g", CreateHow::Unchecked(Sattr3 { size: Some(0), ..Sattr3::default() })).unwrap();
    assert_eq!((same, a.size), (f, 0));
}

#[test]
fn read_and_write_sizes_are_bounded() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let (f, _) = t.create(c, &root, "big", CreateHow::Unchecked(Sattr3::default())).unwrap();
    let mib = 1 << 20;
    let chunk: Vec<u8> = (0..mib).map(|i| (i % 251) as u8).collect();
    t.write(c, &f, 0, &chunk, StableHow::Unstable);
    t.write(c, &f, mib as u64, &chunk[..mib / 2], StableHow::Unstable);
    // WTMAX is 1 MiB: one byte more is NFS3ERR_INVAL, with wcc data.
    let too_big = vec![0u8; mib + 1];
    let args = Nfs3Args::Write {
        fh: f.clone(),
        offset: 0,
        count: too_big.len() as u32,
        stable: StableHow::Unstable,
        data: too_big.into(),
    };
    let body = t.nfs(c, args);
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), 22);
    assert_eq!(wcc(&mut r).1.unwrap().size, (mib + mib / 2) as u64);
    // A count larger than the data sent is NFS3ERR_INVAL too.
    let args =
        Nfs3Args::Write { fh: f.clone(), offset: 0, count: 10, stable: StableHow::Unstable, data: vec![1; 4].into() };
    assert_eq!(t.status(c, args), 22);
    // READ counts above RTMAX are clamped.
    let (data, eof) = t.read(c, &f, 0, 4 * mib as u32);
    assert_eq!((data.len(), eof), (mib, false));
    assert_eq!(data, chunk);
    let (data, eof) = t.read(c, &f, mib as u64, 4 * mib as u32);
    assert_eq!((data.len(), eof), (mib / 2, true));
    // Reading a directory is NFS3ERR_ISDIR.
    assert_eq!(t.status(c, Nfs3Args::Read { fh: root, offset: 0, count: 1 }), 21);
}

/// LocalFs handles survive a restart: a second Server over the same
/// directory accepts the handles the first one gave out.
#[test]
fn local_fs_handles_are_stable_across_restarts() {
    use crate::vfs::LocalFs;
    let dir = std::env::temp_dir().join(format!("polyshare-nfs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let mut config = Config::default();
    config.nfs.exports[0].squash = crate::config::Squash::None;
    let (root, f) = {
        let mut t = Rig::with(config.clone(), Box::new(LocalFs::new(&dir).unwrap()));
        let c = t.connect("127.0.0.1:900");
        let root = t.mnt(c, "/share").unwrap();
        let (f, _) = t.create(c, &root, "kept", CreateHow::Guarded(Sattr3::default())).unwrap();
        t.write(c, &f, 0, b"persisted", StableHow::Unstable);
        let body = t.nfs(c, Nfs3Args::Commit { fh: f.clone(), offset: 0, count: 0 });
        assert_eq!(XdrReader::new(&body).u32().unwrap(), OK);
        (root, f)
    };
    let mut t = Rig::with(config, Box::new(LocalFs::new(&dir).unwrap()));
    let c = t.connect("127.0.0.1:900");
    assert_eq!(t.mnt(c, "/share").unwrap(), root);
    assert_eq!(t.read(c, &f, 0, 100), (b"persisted".to_vec(), true));
    assert_eq!(t.lookup(c, &root, "kept").unwrap().0, f);

    // Hard links share a LocalFs cookie (the inode number): whatever the page
    // size, a paged listing still returns every name once.
    for i in 0..4 {
        let link = Nfs3Args::Link { fh: f.clone(), link: dirop(&root, &format!("link{i}")) };
        assert_eq!(t.status(c, link), OK);
    }
    for i in 0..6 {
        t.create(c, &root, &format!("other{i}"), CreateHow::Unchecked(Sattr3::default())).unwrap();
    }
    let mut expect: Vec<String> = [".", "..", "kept"].iter().map(|s| s.to_string()).collect();
    expect.extend((0..4).map(|i| format!("link{i}")));
    expect.extend((0..6).map(|i| format!("other{i}")));
    expect.sort();
    for maxcount in (900..2600).step_by(97) {
        let (mut names, mut cookie) = (Vec::new(), 0);
        loop {
            let (entries, eof) = t.readdirplus(c, &root, cookie, maxcount);
            for (n, ck) in entries {
                names.push(n);
                cookie = ck;
            }
            if eof {
                break;
            }
        }
        names.sort();
        assert_eq!(names, expect, "maxcount {maxcount}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An NFS REMOVE of a LocalFs file's last name removes the streams it kept
/// in the sidecar (`.polyshare\streams/<inode>`), as an SMB delete does.
#[test]
fn nfs_remove_takes_a_local_fs_files_sidecar_streams() {
    use crate::vfs::{LocalFs, Vfs};
    let dir = std::env::temp_dir().join(format!("polyshare-nfs-streams-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let now = crate::time::Timespec::new(1, 0);
    let ino = {
        let fs = LocalFs::new(&dir).unwrap();
        let ca = crate::vfs::CreateAttr { mode: 0o644, uid: 0, gid: 0 };
        let f = fs.create(fs.root(), "f", ca, now).unwrap().id;
        let s = fs.stream(f, "big", true, now).unwrap().id;
        fs.write(s, 0, &vec![3u8; 200_000], now).unwrap();
        f
    };
    let ino_dir = dir.join(".polyshare\\streams").join(ino.to_string());
    assert!(ino_dir.is_dir());
    let mut config = Config::default();
    config.nfs.exports[0].squash = crate::config::Squash::None;
    let mut t = Rig::with(config, Box::new(LocalFs::new(&dir).unwrap()));
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    assert_eq!(t.status(c, Nfs3Args::Remove(dirop(&root, "f"))), OK);
    assert!(!ino_dir.exists(), "the sidecar streams went with the file");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Counts `getattr` calls on the file it watches.
#[derive(Debug)]
struct GetattrCount {
    watched: std::sync::Arc<std::sync::atomic::AtomicU64>,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl crate::vfs::DataHook for GetattrCount {
    fn getattr(&self, id: crate::vfs::ObjectId) -> crate::vfs::VfsResult<()> {
        use std::sync::atomic::Ordering::SeqCst;
        if id == self.watched.load(SeqCst) {
            self.count.fetch_add(1, SeqCst);
        }
        Ok(())
    }
}

/// The lease hook checks a data call's handle (a getattr, and on LocalFs a
/// walk up to the export root) and the procedure takes that result: one
/// getattr of the file for the check of a READ, WRITE, COMMIT or SETATTR,
/// not one for each (until 2026-12-07 each fetched them twice).
#[test]
fn a_data_call_checks_its_handle_once() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering::SeqCst;
    let watched = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hook = GetattrCount { watched: watched.clone(), count: count.clone() };
    let vfs = crate::vfs::Observed::new(test_vfs(), hook);
    let mut t = Rig::with(Config::default(), Box::new(vfs));
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let (file, _) = t.create(c, &root, "f", CreateHow::Unchecked(Sattr3::default())).unwrap();
    watched.store(NfsFh3::parse(&file.0).unwrap().id, SeqCst);

    let getattrs = |t: &mut Rig, args: Nfs3Args| {
        count.store(0, SeqCst);
        assert_eq!(t.status(c, args), OK);
        count.load(SeqCst)
    };
    let write = Nfs3Args::Write {
        fh: file.clone(),
        offset: 0,
        count: 5,
        stable: StableHow::Unstable,
        data: b"hello".to_vec().into(),
    };
    // A WRITE fetches the attributes before it (its wcc data); it finds them
    // where the handle's check left them.
    assert_eq!(getattrs(&mut t, write), 1, "WRITE");
    assert_eq!(getattrs(&mut t, Nfs3Args::Read { fh: file.clone(), offset: 0, count: 5 }), 1, "READ");
    // And a COMMIT fetches them once more after the sync, for its wcc data.
    assert_eq!(getattrs(&mut t, Nfs3Args::Commit { fh: file.clone(), offset: 0, count: 0 }), 2, "COMMIT");
    let chmod = Nfs3Args::Setattr {
        fh: file.clone(),
        attr: Sattr3 { mode: Some(0o600), ..Sattr3::default() },
        guard: None,
    };
    assert_eq!(getattrs(&mut t, chmod), 1, "SETATTR");
}
