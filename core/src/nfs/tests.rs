//! Scenarios driving a whole `Server` over `Protocol::Nfs`: calls built with
//! the XDR encoder, framed with RPC record marking, answers decoded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::mount::{MOUNTPROC3_DUMP, MOUNTPROC3_EXPORT, MOUNTPROC3_MNT, MOUNTPROC3_NULL, MOUNTPROC3_UMNT};
use super::nfs3::args::{CreateHow, DirOpArgs, Nfs3Args, StableHow};
use super::nfs3::attrs::{Sattr3, SetTime};
use super::nfs3::fh::{FhBytes, NfsFh3};
use super::nfs3::proc_;
use super::portmap::{IPPROTO_TCP, PMAPPROC_DUMP, PMAPPROC_GETPORT};
use super::rpc::{self, AcceptStat, AuthStat, AuthSys, Credentials, RejectStat, ReplyHeader};
use super::xdr::{XdrReader, XdrWriter};
use super::{PROG_MOUNT, PROG_NFS, PROG_PORTMAP};
use crate::config::{AddrRange, Config, Export};
use crate::framing::{Transport, encode_frame};
use crate::server::{ConnId, Output, Protocol, Server};
use crate::time::Timespec;
use crate::vfs::{SetAttr, Vfs};
use quickcheck::quickcheck;

const OK: u32 = 0;
const NOENT: u32 = 2;
const ACCES: u32 = 13;
const EXIST: u32 = 17;
const NOTDIR: u32 = 20;
const ROFS: u32 = 30;
const NOTEMPTY: u32 = 66;
const STALE: u32 = 70;
const BADHANDLE: u32 = 10001;
const NOT_SYNC: u32 = 10002;
const NOTSUPP: u32 = 10004;
const TOOSMALL: u32 = 10005;

fn test_vfs() -> Box<dyn Vfs> {
    Box::new(crate::vfs::MemoryFs::new())
}

struct Rig {
    server: Server,
    now: Instant,
    xid: u32,
    cred: Credentials,
}

fn user(uid: u32) -> Credentials {
    Credentials::Sys(AuthSys { stamp: 1, machinename: b"client".to_vec(), uid, gid: uid, gids: vec![] })
}

/// A decoded fattr3, the fields the tests look at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fattr {
    ftype: u32,
    mode: u32,
    nlink: u32,
    uid: u32,
    size: u64,
    fileid: u64,
    atime: (u32, u32),
    mtime: (u32, u32),
    ctime: (u32, u32),
}

fn fattr(r: &mut XdrReader<'_>) -> Fattr {
    let ftype = r.u32().unwrap();
    let mode = r.u32().unwrap();
    let nlink = r.u32().unwrap();
    let uid = r.u32().unwrap();
    let _gid = r.u32().unwrap();
    let size = r.u64().unwrap();
    let _used = r.u64().unwrap();
    let _rdev = r.u64().unwrap();
    let _fsid = r.u64().unwrap();
    let fileid = r.u64().unwrap();
    let mut t = || (r.u32().unwrap(), r.u32().unwrap());
    let (atime, mtime, ctime) = (t(), t(), t());
    Fattr { ftype, mode, nlink, uid, size, fileid, atime, mtime, ctime }
}

fn post_op(r: &mut XdrReader<'_>) -> Option<Fattr> {
    r.bool().unwrap().then(|| fattr(r))
}

/// wcc_data: (pre size, post attributes).
fn wcc(r: &mut XdrReader<'_>) -> (Option<u64>, Option<Fattr>) {
    let pre = r.bool().unwrap().then(|| {
        let size = r.u64().unwrap();
        r.fixed::<16>().unwrap();
        size
    });
    (pre, post_op(r))
}

fn fh(r: &mut XdrReader<'_>) -> FhBytes {
    FhBytes::decode(r).unwrap()
}

fn dirop(dir: &FhBytes, name: &str) -> DirOpArgs {
    DirOpArgs { dir: dir.clone(), name: name.as_bytes().to_vec() }
}

impl Rig {
    fn with(config: Config, vfs: Box<dyn Vfs>) -> Self {
        let now = Instant::now();
        let mut server = Server::new(config, vfs, 42, now);
        // Let every test user create in the root.
        let root = server.vfs().root();
        let open = SetAttr { mode: Some(0o777), ..SetAttr::default() };
        server.vfs_mut().setattr(root, &open, Timespec::new(1, 0)).unwrap();
        Self { server, now, xid: 100, cred: user(1000) }
    }

    fn new() -> Self {
        Self::with(Config::default(), test_vfs())
    }

    fn connect(&mut self, peer: &str) -> ConnId {
        let peer: SocketAddr = peer.parse().unwrap();
        self.server.accept(Protocol::Nfs, peer, self.now).unwrap()
    }

    /// Feeds raw stream bytes; returns every output.
    fn input(&mut self, conn: ConnId, bytes: &[u8]) -> Vec<Output> {
        self.now += Duration::from_millis(1);
        self.server.handle_input(conn, bytes, self.now);
        std::iter::from_fn(|| self.server.poll_output()).collect()
    }

    /// Sends one record and returns the reply records for `conn`.
    fn record(&mut self, conn: ConnId, body: &[u8]) -> Vec<Vec<u8>> {
        let framed = encode_frame(Transport::RpcRecordMarking, body);
        self.input(conn, &framed)
            .into_iter()
            .filter_map(|o| match o {
                Output::Transmit { conn: c, data } if c == conn => {
                    let mark = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                    assert_eq!(mark, 0x8000_0000 | (data.len() as u32 - 4), "one last fragment");
                    Some(data[4..].to_vec())
                }
                _ => None,
            })
            .collect()
    }

    fn call_raw(&mut self, conn: ConnId, prog: u32, vers: u32, proc_no: u32, args: &[u8]) -> (ReplyHeader, Vec<u8>) {
        self.xid += 1;
        let mut w = XdrWriter::new();
        rpc::encode_call(&mut w, self.xid, prog, vers, proc_no, &self.cred);
        w.raw(args);
        let replies = self.record(conn, w.as_slice());
        assert_eq!(replies.len(), 1, "one reply per call");
        let mut r = XdrReader::new(&replies[0]);
        let (xid, h) = rpc::decode_reply(&mut r).unwrap();
        assert_eq!(xid, self.xid);
        (h, r.rest().to_vec())
    }

    fn call(&mut self, conn: ConnId, prog: u32, vers: u32, proc_no: u32, args: &[u8]) -> Vec<u8> {
        let (h, body) = self.call_raw(conn, prog, vers, proc_no, args);
        assert_eq!(h, ReplyHeader::Accepted(AcceptStat::Success));
        body
    }

    fn nfs(&mut self, conn: ConnId, args: Nfs3Args) -> Vec<u8> {
        let mut w = XdrWriter::new();
        args.encode(&mut w);
        self.call(conn, PROG_NFS, 3, args.proc_no(), w.as_slice())
    }

    fn mnt(&mut self, conn: ConnId, path: &str) -> Result<FhBytes, u32> {
        let mut w = XdrWriter::new();
        w.string(path);
        let body = self.call(conn, PROG_MOUNT, 3, MOUNTPROC3_MNT, w.as_slice());
        let mut r = XdrReader::new(&body);
        match r.u32().unwrap() {
            0 => {
                let fh = fh(&mut r);
                let n = r.u32().unwrap();
                let flavors: Vec<u32> = (0..n).map(|_| r.u32().unwrap()).collect();
                assert_eq!(flavors, vec![rpc::AUTH_SYS, rpc::AUTH_NONE]);
                Ok(fh)
            }
            s => Err(s),
        }
    }

    fn lookup(&mut self, conn: ConnId, dir: &FhBytes, name: &str) -> Result<(FhBytes, Fattr), u32> {
        let body = self.nfs(conn, Nfs3Args::Lookup(dirop(dir, name)));
        let mut r = XdrReader::new(&body);
        match r.u32().unwrap() {
            0 => {
                let h = fh(&mut r);
                let a = post_op(&mut r).unwrap();
                assert!(post_op(&mut r).is_some(), "directory attributes");
                Ok((h, a))
            }
            s => {
                assert!(post_op(&mut r).is_some(), "directory attributes on failure");
                Err(s)
            }
        }
    }

    fn create(&mut self, conn: ConnId, dir: &FhBytes, name: &str, how: CreateHow) -> Result<(FhBytes, Fattr), u32> {
        let body = self.nfs(conn, Nfs3Args::Create { where_: dirop(dir, name), how });
        let mut r = XdrReader::new(&body);
        match r.u32().unwrap() {
            0 => {
                assert!(r.bool().unwrap());
                let h = fh(&mut r);
                let a = post_op(&mut r).unwrap();
                let (pre, post) = wcc(&mut r);
                assert!(pre.is_some() && post.is_some(), "dir wcc data");
                assert!(r.is_empty());
                Ok((h, a))
            }
            s => {
                let (pre, post) = wcc(&mut r);
                assert!(pre.is_some() && post.is_some(), "dir wcc data on failure");
                Err(s)
            }
        }
    }

    fn write(&mut self, conn: ConnId, file: &FhBytes, offset: u64, data: &[u8], stable: StableHow) -> (u32, [u8; 8]) {
        let args = Nfs3Args::Write { fh: file.clone(), offset, count: data.len() as u32, stable, data: data.to_vec() };
        let body = self.nfs(conn, args);
        let mut r = XdrReader::new(&body);
        assert_eq!(r.u32().unwrap(), OK);
        let (pre, post) = wcc(&mut r);
        assert!(pre.is_some());
        assert_eq!(post.unwrap().size, pre.unwrap().max(offset + data.len() as u64));
        assert_eq!(r.u32().unwrap(), data.len() as u32);
        let committed = r.u32().unwrap();
        (committed, r.fixed::<8>().unwrap())
    }

    fn read(&mut self, conn: ConnId, file: &FhBytes, offset: u64, count: u32) -> (Vec<u8>, bool) {
        let body = self.nfs(conn, Nfs3Args::Read { fh: file.clone(), offset, count });
        let mut r = XdrReader::new(&body);
        assert_eq!(r.u32().unwrap(), OK);
        post_op(&mut r).unwrap();
        let n = r.u32().unwrap();
        let eof = r.bool().unwrap();
        let data = r.opaque(u32::MAX).unwrap().to_vec();
        assert_eq!(n as usize, data.len());
        (data, eof)
    }

    fn status(&mut self, conn: ConnId, args: Nfs3Args) -> u32 {
        let body = self.nfs(conn, args);
        XdrReader::new(&body).u32().unwrap()
    }

    /// READDIRPLUS from `cookie`: (name, cookie, has handle) entries and eof.
    fn readdirplus(&mut self, conn: ConnId, dir: &FhBytes, cookie: u64, maxcount: u32) -> (Vec<(String, u64)>, bool) {
        let args = Nfs3Args::Readdirplus { fh: dir.clone(), cookie, verf: [0; 8], dircount: 0, maxcount };
        let body = self.nfs(conn, args);
        assert!(body.len() <= maxcount as usize + 4, "reply honours maxcount");
        let mut r = XdrReader::new(&body);
        assert_eq!(r.u32().unwrap(), OK);
        post_op(&mut r).unwrap();
        r.u64().unwrap();
        let mut out = Vec::new();
        while r.bool().unwrap() {
            let id = r.u64().unwrap();
            let name = String::from_utf8(r.string(255).unwrap().to_vec()).unwrap();
            let cookie = r.u64().unwrap();
            let a = post_op(&mut r).unwrap();
            assert_eq!(a.fileid, id);
            assert!(r.bool().unwrap(), "name_handle");
            let h = NfsFh3::parse(&fh(&mut r).0).unwrap();
            assert_eq!(h.id, id);
            out.push((name, cookie));
        }
        let eof = r.bool().unwrap();
        assert!(r.is_empty());
        (out, eof)
    }
}

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
    assert!(t.server.core().nfs.dirty.contains(&NfsFh3::parse(&file.0).unwrap().id));
    let body = t.nfs(c, Nfs3Args::Commit { fh: file.clone(), offset: 0, count: 0 });
    let mut r = XdrReader::new(&body);
    assert_eq!(r.u32().unwrap(), OK);
    assert_eq!(wcc(&mut r).1.unwrap().size, 11);
    assert_eq!(r.fixed::<8>().unwrap(), verf);
    assert!(t.server.core().nfs.dirty.is_empty());
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

    let mknod = Nfs3Args::Mknod { where_: dirop(&root, "p"), what: super::nfs3::args::MknodData::Other(1) };
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
fn rpc_level_errors() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    assert_eq!(t.call_raw(c, 200_000, 1, 0, &[]).0, ReplyHeader::Accepted(AcceptStat::ProgUnavail));
    let mismatch = |low, high| ReplyHeader::Accepted(AcceptStat::ProgMismatch { low, high });
    assert_eq!(t.call_raw(c, PROG_NFS, 2, 0, &[]).0, mismatch(3, 3));
    assert_eq!(t.call_raw(c, PROG_NFS, 4, 0, &[]).0, mismatch(3, 3));
    assert_eq!(t.call_raw(c, PROG_MOUNT, 1, 0, &[]).0, mismatch(3, 3));
    assert_eq!(t.call_raw(c, PROG_PORTMAP, 3, 0, &[]).0, mismatch(2, 2));
    assert_eq!(t.call_raw(c, PROG_NFS, 3, 22, &[]).0, ReplyHeader::Accepted(AcceptStat::ProcUnavail));
    assert_eq!(t.call_raw(c, PROG_MOUNT, 3, 6, &[]).0, ReplyHeader::Accepted(AcceptStat::ProcUnavail));
    assert_eq!(t.call_raw(c, PROG_NFS, 3, proc_::GETATTR, &[0, 0]).0, ReplyHeader::Accepted(AcceptStat::GarbageArgs));
    assert!(t.call(c, PROG_NFS, 3, proc_::NULL, &[]).is_empty());

    // An opaque longer than what is left of the record: WRITE claiming 1000 bytes with 8 present.
    let root = t.mnt(c, "/share").unwrap();
    let mut w = XdrWriter::new();
    root.encode(&mut w);
    w.u64(0).u32(1000).u32(0).u32(1000).raw(&[1; 8]);
    assert_eq!(
        t.call_raw(c, PROG_NFS, 3, proc_::WRITE, w.as_slice()).0,
        ReplyHeader::Accepted(AcceptStat::GarbageArgs)
    );

    // RPC version 3: MSG_DENIED RPC_MISMATCH(2, 2).
    let mut w = XdrWriter::new();
    w.u32(9).u32(0).u32(3).u32(PROG_NFS).u32(3).u32(0).u32(0).u32(0).u32(0).u32(0);
    let replies = t.record(c, w.as_slice());
    let (xid, h) = rpc::decode_reply(&mut XdrReader::new(&replies[0])).unwrap();
    assert_eq!((xid, h), (9, ReplyHeader::Denied(RejectStat::RpcMismatch { low: 2, high: 2 })));

    // An unknown credential flavor: AUTH_ERROR AUTH_BADCRED.
    let mut w = XdrWriter::new();
    w.u32(10).u32(0).u32(2).u32(PROG_NFS).u32(3).u32(0).u32(6).u32(0).u32(0).u32(0);
    let replies = t.record(c, w.as_slice());
    let h = rpc::decode_reply(&mut XdrReader::new(&replies[0])).unwrap().1;
    assert_eq!(h, ReplyHeader::Denied(RejectStat::AuthError(AuthStat::BadCred)));

    // Not calls: a REPLY, a short record, a truncated header. Dropped, connection kept.
    assert!(t.record(c, &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]).is_empty());
    assert!(t.record(c, &[1, 2]).is_empty());
    assert!(t.record(c, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]).is_empty());
    assert_eq!(t.server.connection_count(), 1);
    assert!(t.call(c, PROG_NFS, 3, proc_::NULL, &[]).is_empty());
}

#[test]
fn handles_are_checked() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    assert_eq!(t.status(c, Nfs3Args::Getattr(FhBytes(vec![1, 2, 3]))), BADHANDLE);
    let mut h = NfsFh3::parse(&root.0).unwrap();
    h.generation += 1;
    assert_eq!(t.status(c, Nfs3Args::Getattr(h.to_fh())), STALE);
    let mut h = NfsFh3::parse(&root.0).unwrap();
    h.id = 999_999;
    assert_eq!(t.status(c, Nfs3Args::Getattr(h.to_fh())), STALE);
    h = NfsFh3::parse(&root.0).unwrap();
    h.export = 9;
    assert_eq!(t.status(c, Nfs3Args::Getattr(h.to_fh())), STALE);
    // Failure bodies keep their shape: REMOVE with a bad handle has empty wcc data.
    let body = t.nfs(c, Nfs3Args::Remove(dirop(&FhBytes(vec![0; 20]), "x")));
    assert_eq!(body, [0, 0, 0x27, 0x11, 0, 0, 0, 0, 0, 0, 0, 0]);
}

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
    assert!(t.server.core().nfs.mounts.is_empty());

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
fn a_bad_connection_does_not_disturb_another() {
    let mut t = Rig::new();
    let good = t.connect("127.0.0.1:900");
    let bad = t.connect("127.0.0.1:901");
    let root = t.mnt(good, "/share").unwrap();
    // Garbage records are dropped; an unframeable stream closes only its connection.
    assert!(t.record(bad, &[0xff; 3]).is_empty());
    let out = t.input(bad, &[0x7f, 0xff, 0xff, 0xff]);
    assert_eq!(out, vec![Output::Close { conn: bad }]);
    assert_eq!(t.server.connection_count(), 1);
    assert_eq!(t.status(good, Nfs3Args::Getattr(root.clone())), OK);
    // A call split across inputs and fragments still works.
    t.xid += 1;
    let mut w = XdrWriter::new();
    rpc::encode_call(&mut w, t.xid, PROG_NFS, 3, proc_::GETATTR, &t.cred);
    root.encode(&mut w);
    let body = w.into_vec();
    let (a, b) = body.split_at(10);
    let mut stream = Vec::new();
    stream.extend_from_slice(&(a.len() as u32).to_be_bytes());
    stream.extend_from_slice(a);
    stream.extend_from_slice(&(0x8000_0000u32 | b.len() as u32).to_be_bytes());
    stream.extend_from_slice(b);
    let mut outs = Vec::new();
    for chunk in stream.chunks(7) {
        outs.extend(t.input(good, chunk));
    }
    assert_eq!(outs.len(), 1);
}

#[test]
fn parked_calls_resume() {
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let (f, _) = t.create(c, &root, "p", CreateHow::Unchecked(Sattr3::default())).unwrap();
    super::nfs3::lease::test_hook::PARK_NEXT.set(true);
    // The hook parks the WRITE; the test build wakes it at once, and the
    // server resumes it before handle_input returns.
    let (committed, _) = t.write(c, &f, 0, b"later", StableHow::FileSync);
    assert_eq!(committed, 2);
    assert_eq!(t.server.stats().ops_parked, 1);
    assert_eq!(t.read(c, &f, 0, 10).0, b"later");
}

#[test]
fn lease_operations_per_procedure() {
    use super::nfs3::lease::{LeaseOp, lease_ops};
    let mut t = Rig::new();
    let c = t.connect("127.0.0.1:900");
    let root = t.mnt(c, "/share").unwrap();
    let (f, a) = t.create(c, &root, "l", CreateHow::Unchecked(Sattr3::default())).unwrap();
    let id = a.fileid;
    let core = t.server.core();
    assert_eq!(lease_ops(core, &Nfs3Args::Read { fh: f.clone(), offset: 0, count: 1 }), vec![LeaseOp::Read(id)]);
    let set = Sattr3 { size: Some(0), mode: Some(0o600), ..Sattr3::default() };
    assert_eq!(
        lease_ops(core, &Nfs3Args::Setattr { fh: f.clone(), attr: set, guard: None }),
        vec![LeaseOp::Write(id), LeaseOp::SetSecurity(id)]
    );
    assert_eq!(lease_ops(core, &Nfs3Args::Remove(dirop(&root, "l"))), vec![LeaseOp::RenameDelete(id)]);
    assert_eq!(lease_ops(core, &Nfs3Args::Commit { fh: f.clone(), offset: 0, count: 0 }), vec![]);
    assert_eq!(lease_ops(core, &Nfs3Args::Getattr(f)), vec![]);
}

quickcheck! {
    /// Whatever follows a valid call header, each call gets exactly one
    /// reply: results, GARBAGE_ARGS or PROC_UNAVAIL.
    fn any_arguments_get_one_reply(prog: u8, proc_no: u8, with_root: bool, data: Vec<u8>) -> bool {
        let mut t = Rig::new();
        let c = t.connect("127.0.0.1:900");
        let root = t.mnt(c, "/share").unwrap();
        let mut w = XdrWriter::new();
        if with_root {
            root.encode(&mut w);
        }
        w.raw(&data);
        let (prog, vers) = [(PROG_NFS, 3), (PROG_MOUNT, 3), (PROG_PORTMAP, 2)][prog as usize % 3];
        let (h, _) = t.call_raw(c, prog, vers, proc_no as u32 % 24, w.as_slice());
        let ok = matches!(
            h,
            ReplyHeader::Accepted(AcceptStat::Success | AcceptStat::GarbageArgs | AcceptStat::ProcUnavail)
        );
        ok && t.server.connection_count() == 1
    }

    /// Arbitrary records never panic the server nor close the connection.
    fn arbitrary_records_are_survived(records: Vec<Vec<u8>>) -> bool {
        let mut t = Rig::new();
        let c = t.connect("127.0.0.1:900");
        for r in &records {
            t.record(c, r);
        }
        t.server.connection_count() == 1
    }
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
    let _ = std::fs::remove_dir_all(&dir);
}
