//! RPC-level errors, malformed input and connection isolation.

use super::*;

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
