//! The client against a scripted server on loopback: request bytes checked
//! against the RFC 1813 layouts, canned replies decoded.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use super::*;

/// Serves one connection: for each canned result, reads a call, records its
/// (procedure, args) and answers with an accepted reply carrying the result.
/// (program, procedure, arguments) of each call received.
type Calls = Vec<(u32, u32, Vec<u8>)>;

fn scripted(results: Vec<Vec<u8>>) -> (SocketAddr, thread::JoinHandle<Calls>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut calls = Vec::new();
        for result in results {
            let mut mark = [0u8; 4];
            s.read_exact(&mut mark).unwrap();
            let mut rec = vec![0u8; (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize];
            s.read_exact(&mut rec).unwrap();
            let mut r = XdrReader::new(&rec);
            let xid = r.u32().unwrap();
            r.skip(8).unwrap(); // CALL, rpcvers
            let prog = r.u32().unwrap();
            r.skip(4).unwrap();
            let proc_ = r.u32().unwrap();
            r.skip(4).unwrap();
            r.opaque(400).unwrap();
            r.skip(4).unwrap();
            r.opaque(400).unwrap();
            calls.push((prog, proc_, r.remaining().to_vec()));
            let mut reply = XdrWriter::new();
            reply.u32(0).u32(xid).u32(1).u32(0).u32(0).u32(0).u32(0);
            reply.0.extend_from_slice(&result);
            let mark = 0x8000_0000 | (reply.0.len() as u32 - 4);
            reply.0[..4].copy_from_slice(&mark.to_be_bytes());
            s.write_all(&reply.0).unwrap();
        }
        calls
    });
    (addr, handle)
}

fn fattr(size: u64, fileid: u64) -> Vec<u8> {
    let mut w = XdrWriter::new();
    w.u32(1).u32(0o644).u32(1).u32(1000).u32(100).u64(size).u64(size).u64(0).u64(7).u64(fileid);
    w.u64(0).u64(0).u64(0);
    assert_eq!(w.0.len(), 84);
    w.0
}

#[test]
fn mount_create_write_read_commit_setattr() {
    let wcc = |w: &mut XdrWriter| {
        w.bool(true).u64(0).u64(0).u64(0).bool(true);
        w.0.extend(fattr(5, 42));
    };
    let mut mnt = XdrWriter::new();
    mnt.u32(0).opaque(&[1, 2, 3, 4, 5, 6, 7, 8]).u32(1).u32(1);
    let mut create = XdrWriter::new();
    create.u32(0).bool(true).opaque(&[9; 8]).bool(false);
    wcc(&mut create);
    let mut write = XdrWriter::new();
    write.u32(0);
    wcc(&mut write);
    write.u32(5).u32(0).fixed(b"VERIFIER");
    let mut read = XdrWriter::new();
    read.u32(0).bool(true);
    read.0.extend(fattr(5, 42));
    read.u32(3).bool(true).opaque(b"llo");
    let mut commit = XdrWriter::new();
    commit.u32(0);
    wcc(&mut commit);
    commit.fixed(b"VERIFIER");
    let mut setattr = XdrWriter::new();
    setattr.u32(0);
    wcc(&mut setattr);
    let mut getattr = XdrWriter::new();
    getattr.u32(0);
    getattr.0.extend(fattr(2, 42));
    let mut noent = XdrWriter::new();
    noent.u32(NFS3ERR_NOENT).bool(false);
    let results = [mnt, create, write, read, commit, setattr, getattr, noent].map(|w| w.0).to_vec();
    let (addr, server) = scripted(results);

    let mut c = NfsClient::connect(addr, Duration::from_secs(5)).unwrap();
    let root = c.mount("/share").unwrap();
    assert_eq!(root.0, [1, 2, 3, 4, 5, 6, 7, 8]);
    let fh = c.create(&root, "f", CreateHow::Guarded).unwrap();
    assert_eq!(fh.0, [9; 8]);
    let w = c.write(&fh, 0, b"hello", StableHow::Unstable).unwrap();
    assert_eq!(w, WriteReply { count: 5, committed: StableHow::Unstable, verf: *b"VERIFIER" });
    assert_eq!(c.read(&fh, 2, 10).unwrap(), ReadReply { data: b"llo".to_vec(), eof: true });
    assert_eq!(&c.commit(&fh).unwrap(), b"VERIFIER");
    c.setattr_size(&fh, 2).unwrap();
    assert_eq!(c.getattr(&fh).unwrap(), Fattr3 { ftype: 1, mode: 0o644, uid: 1000, gid: 100, size: 2, fileid: 42 });
    assert!(matches!(c.lookup(&root, "x"), Err(Error::Nfs { proc_: "LOOKUP", status: NFS3ERR_NOENT })));

    let calls = server.join().unwrap();
    let fh8 = |b: u8| [0, 0, 0, 8, b, b, b, b, b, b, b, b];
    let root_fh = [0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
    assert_eq!(calls[0], (MOUNT_PROGRAM, 1, vec![0, 0, 0, 6, b'/', b's', b'h', b'a', b'r', b'e', 0, 0]));
    // CREATE3args: diropargs3, GUARDED, sattr3 { mode 0644, rest unset, times DONT_CHANGE }.
    let mut create_args = root_fh.to_vec();
    create_args.extend([0, 0, 0, 1, b'f', 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0x01, 0xA4]);
    create_args.extend([0; 4 * 5]); // uid, gid, size unset; atime, mtime DONT_CHANGE
    assert_eq!(calls[1], (NFS_PROGRAM, 8, create_args));
    // WRITE3args: file, offset, count, stable, data.
    let mut write_args = fh8(9).to_vec();
    write_args
        .extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o', 0, 0, 0]);
    assert_eq!(calls[2], (NFS_PROGRAM, 7, write_args));
    let mut read_args = fh8(9).to_vec();
    read_args.extend([0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 10]);
    assert_eq!(calls[3], (NFS_PROGRAM, 6, read_args));
    let mut commit_args = fh8(9).to_vec();
    commit_args.extend([0; 12]);
    assert_eq!(calls[4], (NFS_PROGRAM, 21, commit_args));
    // SETATTR3args: sattr3 with only size set, then no guard.
    let mut setattr_args = fh8(9).to_vec();
    setattr_args.extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    setattr_args.extend([0; 12]);
    assert_eq!(calls[5], (NFS_PROGRAM, 2, setattr_args));
    assert_eq!(calls[6].1, 1);
    assert_eq!(calls[7].1, 3);
}

#[test]
fn short_or_inconsistent_replies_are_errors() {
    let mut read = XdrWriter::new();
    read.u32(0).bool(false).u32(4).bool(false).opaque(b"abc");
    let mut bad_fh = XdrWriter::new();
    bad_fh.u32(0).opaque(&[0; 65]);
    let (addr, server) = scripted(vec![read.0, bad_fh.0, vec![0, 0, 0]]);
    let mut c = NfsClient::connect(addr, Duration::from_secs(5)).unwrap();
    let fh = Fh(vec![1; 8]);
    assert!(matches!(c.read(&fh, 0, 4), Err(Error::Malformed(_))));
    assert!(matches!(c.lookup(&fh, "a"), Err(Error::Malformed(_))));
    assert!(matches!(c.getattr(&fh), Err(Error::Malformed(_))));
    server.join().unwrap();
}

#[test]
fn send_and_receive_separately() {
    let mut write = XdrWriter::new();
    write.u32(0).bool(false).bool(false).u32(2).u32(2).fixed(b"VERIFIER");
    let mut jukebox = XdrWriter::new();
    jukebox.u32(NFS3ERR_JUKEBOX).bool(false).bool(false);
    let (addr, server) = scripted(vec![write.0, jukebox.0]);
    let mut c = NfsClient::connect(addr, Duration::from_secs(5)).unwrap();
    let fh = Fh(vec![3; 4]);
    let xid = c.send(proc3::WRITE, &args::write(&fh, 0, b"ab", StableHow::FileSync)).unwrap();
    let (rxid, results) = c.recv().unwrap();
    assert_eq!(rxid, xid);
    assert_eq!(res::write(&results).unwrap().committed, StableHow::FileSync);
    let xid = c.send(proc3::SETATTR, &args::setattr_size(&fh, 0)).unwrap();
    let (rxid, results) = c.recv().unwrap();
    assert_eq!(rxid, xid);
    assert!(matches!(res::wcc(&results, "SETATTR"), Err(Error::Nfs { status: NFS3ERR_JUKEBOX, .. })));
    server.join().unwrap();
}
