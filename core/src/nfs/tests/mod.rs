//! Scenarios driving a whole `Server` over `Protocol::Nfs`: calls built with
//! the XDR encoder, framed with RPC record marking, answers decoded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::mount::{MOUNTPROC3_DUMP, MOUNTPROC3_EXPORT, MOUNTPROC3_MNT, MOUNTPROC3_NULL, MOUNTPROC3_UMNT};
use super::portmap::{IPPROTO_TCP, PMAPPROC_DUMP, PMAPPROC_GETPORT};
use super::rpc::{self, AcceptStat, AuthStat, AuthSys, Credentials, RejectStat, ReplyHeader};
use super::xdr::{XdrReader, XdrWriter};
use super::{PROG_MOUNT, PROG_NFS, PROG_PORTMAP};
use crate::config::{AddrRange, Config, Export};
use crate::framing::{Transport, encode_frame};
use crate::id::{ConnId, Protocol};
use crate::nfs::nfs3::args::{CreateHow, DirOpArgs, Nfs3Args, StableHow};
use crate::nfs::nfs3::attrs::{Sattr3, SetTime};
use crate::nfs::nfs3::fh::{FhBytes, NfsFh3};
use crate::nfs::nfs3::proc_;
use crate::output::Output;
use crate::server::Server;
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
        let server = Server::new(config, vfs, 42, now);
        // Let every test user create in the root.
        let root = server.vfs().root();
        let open = SetAttr { mode: Some(0o777), ..SetAttr::default() };
        server.vfs().setattr(root, &open, Timespec::new(1, 0)).unwrap();
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
        std::iter::from_fn(|| self.server.poll_output_io_inline(self.now)).collect()
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
        let args =
            Nfs3Args::Write { fh: file.clone(), offset, count: data.len() as u32, stable, data: data.to_vec().into() };
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

mod access;
mod confinement;
mod files;
mod limits;
mod reconfigure;
mod robustness;
