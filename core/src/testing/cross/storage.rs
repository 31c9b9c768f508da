//! Storage off the event loop: a data operation waits for its storage
//! request while every other connection is served, and its reply is built
//! around the very buffer storage filled (and WRITE data reaches storage as a
//! slice of the received message).

use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::*;
use crate::vfs::{DataHook, Observed, VfsResult};

const NONE: LeaseState = LeaseState::NONE;

/// Where storage was asked to read into and write from: (address, length);
/// and the writes it was handed in pipes: (offset, length).
#[derive(Debug, Default)]
struct Seen {
    reads: Vec<(usize, usize)>,
    writes: Vec<(usize, usize)>,
    spliced: Vec<(u64, usize)>,
}

/// Notes the buffers of data operations.
#[derive(Debug)]
struct Spy(Arc<Mutex<Seen>>);

impl DataHook for Spy {
    fn read(&self, _: ObjectId, _: u64, buf: &[u8]) -> VfsResult<()> {
        self.0.lock().unwrap().reads.push((buf.as_ptr() as usize, buf.len()));
        Ok(())
    }

    fn write(&self, _: ObjectId, _: u64, data: &[u8]) -> VfsResult<()> {
        self.0.lock().unwrap().writes.push((data.as_ptr() as usize, data.len()));
        Ok(())
    }

    fn write_spliced(&self, _: ObjectId, offset: u64, len: usize) -> VfsResult<()> {
        self.0.lock().unwrap().spliced.push((offset, len));
        Ok(())
    }
}

fn spied() -> (X, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let spy = Observed::new(Box::new(MemoryFs::new()), Spy(seen.clone()));
    (X::with_vfs(NfsBreakPolicy::Wait, |_| {}, Box::new(spy)), seen)
}

/// Whether `inner` lies inside `outer`'s bytes.
fn within(outer: &Bytes, (addr, len): (usize, usize)) -> bool {
    let start = outer.as_ptr() as usize;
    addr >= start && addr + len <= start + outer.len()
}

fn open(x: &mut X, name: &str) -> FileId {
    let r = x.smb_call(x.smb, command::CREATE, &smb_peer::create_body(name, None));
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    r.file_id()
}

#[test]
fn slow_storage_stalls_no_one() {
    let mut x = X::new();
    x.hold_io = true;
    let big = [7u8; 4096];
    x.file("big", &big);
    let (_, other_fh) = x.file("other", b"other data");
    let (f, f_fh) = x.file("f", b"old");
    let fid = open(&mut x, "big");
    let first = x.smb_send(x.smb, command::READ, &smb_peer::read_body(fid, 0, 4096));
    assert!(x.smb_responses(x.smb, first).is_empty(), "the READ waits for storage");
    assert_eq!(x.io_held.len(), 1);

    // Its storage request has not come back; nothing waits for it.
    let b = x.smb_peer([0xB0; 16]);
    assert_eq!(x.smb_call(b, command::ECHO, &[4, 0, 0, 0]).hdr.status, smb_peer::SUCCESS, "ECHO");
    let null = x.send(&Nfs3Args::Null);
    assert!(x.reply(null).is_some(), "NFS NULL");
    let other = x.send(&super::read(&other_fh));
    assert_eq!(x.io_held.len(), 2, "a read of another file is issued at once");
    x.answer_io(1);
    let reply = x.reply(other).expect("answered while the first READ still waits");
    assert_eq!(read_data(&reply), b"other data");

    // A lease break and its ack, by the very client whose READ waits.
    x.hold(f, LeaseState::RWH);
    let write = x.send(&super::write(&f_fh, b"nfs"));
    assert_eq!(x.breaks(), vec![(LeaseState::RWH, NONE, true)]);
    assert!(x.reply(write).is_none());
    assert_eq!(x.ack(NONE), 0, "the ack is answered");
    assert_eq!(x.io_held.len(), 2, "the WRITE now waits for storage only");
    x.answer_io(1);
    assert_eq!(x.status(write), Some(OK));
    assert_eq!(x.content(f), b"nfs");

    assert!(x.smb_responses(x.smb, first).is_empty(), "the first READ still waits");
    x.answer_io(0);
    let r = x.smb_responses(x.smb, first);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].hdr.status, smb_peer::SUCCESS);
    assert_eq!(smb_peer::read_response_data(&r[0].body), Some(&big[..]));
}

#[test]
fn a_read_reply_is_the_buffer_storage_filled() {
    let (mut x, seen) = spied();
    let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let (_, fh) = x.file("f", &data);
    let fid = open(&mut x, "f");
    x.sent.clear();
    // One credit pays for 64 KiB (MS-SMB2 3.3.5.2.5).
    let mid = x.smb_send(x.smb, command::READ, &smb_peer::read_body(fid, 0, 65_536));
    assert_eq!(x.smb_responses(x.smb, mid)[0].hdr.status, smb_peer::SUCCESS);
    let filled = *seen.lock().unwrap().reads.last().unwrap();
    assert_eq!(filled.1, 65_536);
    let (_, reply) = x.sent.last().unwrap().clone();
    // Direct-TCP header, SMB2 header, READ response: then the data, in place.
    assert_eq!(reply.as_ptr() as usize + 4 + 64 + 16, filled.0, "SMB: the reply is the storage buffer");
    assert!(within(&reply, filled));

    x.sent.clear();
    let xid = x.send(&Nfs3Args::Read { fh, offset: 0, count: 65_536 });
    assert!(x.reply(xid).is_some());
    let filled = *seen.lock().unwrap().reads.last().unwrap();
    let (_, reply) = x.sent.last().unwrap().clone();
    assert!(within(&reply, (filled.0, 65_536)), "NFS: the reply is the storage buffer");
    let at = filled.0 - reply.as_ptr() as usize;
    assert_eq!(&reply[at..at + 65_536], &data[..65_536]);
}

#[test]
fn write_data_reaches_storage_as_a_slice_of_the_message() {
    let (mut x, seen) = spied();
    let (_, fh) = x.file("f", b"");
    let fid = open(&mut x, "f");
    let payload = vec![0x5A; 60_000];
    let p = x.peers.iter().find(|p| p.conn == x.smb).unwrap();
    let msg =
        Bytes::from(smb_peer::request(command::WRITE, 50, p.session, p.tree, &smb_peer::write_body(fid, 0, &payload)));
    let frame = msg.slice(4..);
    x.server.handle_frame(x.smb, frame.clone(), x.now);
    x.collect();
    let written = *seen.lock().unwrap().writes.last().unwrap();
    assert_eq!(written.1, payload.len());
    assert_eq!(written.0, frame.as_ptr() as usize + 64 + 48, "SMB: WRITE data is the message's own bytes");

    let cred = Credentials::Sys(AuthSys { stamp: 1, machinename: b"c".to_vec(), uid: 1000, gid: 1000, gids: vec![] });
    let mut w = XdrWriter::new();
    let args = super::write(&fh, &payload);
    rpc::encode_call(&mut w, 777, PROG_NFS, 3, args.proc_no(), &cred);
    args.encode(&mut w);
    let record = Bytes::from(w.into_vec());
    x.server.handle_frame(x.nfs, record.clone(), x.now);
    x.collect();
    assert_eq!(x.status(777), Some(OK));
    let written = *seen.lock().unwrap().writes.last().unwrap();
    assert_eq!(written.1, payload.len());
    assert!(within(&record, written), "NFS: WRITE data is the record's own bytes");
}

/// Runs the first held storage request as an adapter does, taking the
/// reply its worker framed (once), and hands the completion to the server,
/// which must count that reply as sent on protocol `slot` (0 SMB, 1 NFS).
/// The request's connection and the reply.
fn reply_taken_by_adapter(x: &mut X, slot: usize) -> (ConnId, Bytes) {
    let req = x.io_held.remove(0);
    let conn = req.conn();
    let mut done = req.run();
    let reply = done.take_reply().expect("a reply framed by the worker").into_bytes().unwrap();
    assert!(done.take_reply().is_none(), "taken once");
    let counted = x.server.stats().bytes_sent;
    x.server.handle_io(done, x.now);
    x.collect();
    assert_eq!(x.server.stats().bytes_sent[slot] - counted[slot], reply.len() as u64, "counted as sent");
    (conn, reply)
}

/// [`reply_taken_by_adapter`] for NFS call `xid`: the core must not send
/// the reply again. The reply's results (after the accepted RPC header).
fn nfs_reply_taken_by_adapter(x: &mut X, xid: u32) -> Vec<u8> {
    let (conn, reply) = reply_taken_by_adapter(x, 1);
    assert_eq!(conn, x.nfs);
    assert!(x.reply(xid).is_none(), "not sent again");
    let mut r = XdrReader::new(&reply[4..]);
    let (got, h) = rpc::decode_reply(&mut r).unwrap();
    assert_eq!((got, h), (xid, ReplyHeader::Accepted(AcceptStat::Success)));
    r.rest().to_vec()
}

#[test]
fn a_reply_the_adapter_took_from_the_worker_is_not_sent_again() {
    let mut x = X::new();
    x.hold_io = true;
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7) as u8).collect();
    let (_, fh) = x.file("f", &data);
    let fid = open(&mut x, "f");
    x.sent.clear();

    // SMB: the worker framed (and would have signed) the whole reply; the
    // adapter writes it, and the core sends nothing more for the READ.
    let mid = x.smb_send(x.smb, command::READ, &smb_peer::read_body(fid, 0, 50_000));
    let (conn, reply) = reply_taken_by_adapter(&mut x, 0);
    assert!(x.sent.is_empty(), "not sent again: {:?}", x.sent.len());
    assert_eq!(conn, x.smb);
    let r = smb_peer::split(&reply);
    assert_eq!((r.len(), r[0].hdr.message_id, r[0].hdr.status), (1, mid, smb_peer::SUCCESS));
    assert_eq!(smb_peer::read_response_data(&r[0].body), Some(&data[..]));
    // The connection goes on: its next request is answered.
    assert_eq!(x.smb_call(x.smb, command::ECHO, &[4, 0, 0, 0]).hdr.status, smb_peer::SUCCESS);

    // NFS: the same for a READ3 reply, framed with the call's attributes.
    let xid = x.send(&Nfs3Args::Read { fh, offset: 0, count: 50_000 });
    let body = &nfs_reply_taken_by_adapter(&mut x, xid)[..];
    assert_eq!(&body[body.len() - data.len()..], &data[..], "the data ends the reply (no padding needed)");
    assert_eq!(read_data(body), &data[..]);
    let null = x.send(&Nfs3Args::Null);
    assert!(x.reply(null).is_some(), "the connection goes on");
}

/// An NFS WRITE's reply is framed by the worker that wrote (so that a WRITE
/// a lease-break acknowledgment releases is answered from there, without
/// another trip through the core's thread). Taken by the adapter, the core
/// sends nothing more for it and counts it as sent; not taken, the core
/// sends it. Either way it is the WRITE3resok the core would build: OK,
/// the count, FILE_SYNC, the server's write verifier (the one a COMMIT
/// answers), and post-op attributes with the new size.
#[test]
fn a_write_reply_leaves_from_the_worker_that_wrote() {
    let mut x = X::new();
    x.hold_io = true;
    let (_, fh) = x.file("f", b"");
    let payload = vec![5u8; 3000];

    let xid = x.send(&super::write(&fh, &payload));
    let taken = nfs_reply_taken_by_adapter(&mut x, xid);

    // Not taken: the core sends it when the completion comes back.
    let mut second = payload.clone();
    second.extend_from_slice(&[6u8; 1000]);
    let xid = x.send(&super::write(&fh, &second));
    x.answer_io(0);
    let sent = x.reply(xid).expect("the core sent the worker's reply");

    // COMMIT answers the verifier both WRITE replies carried.
    let commit = x.send(&Nfs3Args::Commit { fh, offset: 0, count: 0 });
    if !x.io_held.is_empty() {
        x.answer_io(0);
    }
    let committed = x.reply(commit).expect("COMMIT answered");
    let verf = &committed[committed.len() - 8..];
    for (body, n) in [(&taken, payload.len()), (&sent, second.len())] {
        let mut r = XdrReader::new(body);
        assert_eq!(r.u32().unwrap(), OK);
        let tail = &body[body.len() - 16..];
        assert_eq!(u32::from_be_bytes(tail[..4].try_into().unwrap()) as usize, n, "count");
        assert_eq!(u32::from_be_bytes(tail[4..8].try_into().unwrap()), StableHow::FileSync as u32, "committed");
        assert_eq!(&tail[8..], verf, "the write verifier");
        // post_op_attr (after pre_op_attr: flag and wcc_attr): fattr3's size.
        let post = &body[4 + 4 + 24..];
        assert_eq!(u32::from_be_bytes(post[..4].try_into().unwrap()), 1, "post-op attributes follow");
        let size = u64::from_be_bytes(post[4 + 20..4 + 28].try_into().unwrap());
        assert_eq!(size as usize, n, "post-op size");
    }
}

/// A READ of a file the kernel holds, neither signed nor sealed, is spliced
/// (`crate::splice`): the worker's reply holds the headers in a buffer and
/// the data in pipes, and whether the adapter sends it or the core does,
/// the message that arrives is the READ reply with the file's bytes.
#[test]
fn a_read_of_a_kernel_file_is_spliced_and_arrives_whole() {
    let dir = std::env::temp_dir().join(format!("polyshare-spliced-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vfs = crate::vfs::LocalFs::new(&dir).unwrap();
    let mut x = X::with_vfs(NfsBreakPolicy::Wait, |_| {}, Box::new(vfs));
    x.hold_io = true;
    let data: Vec<u8> = (0..300_001u32).map(|i| (i * 13 + i / 1000) as u8).collect();
    let (_, fh) = x.file("f", &data);
    let fid = open(&mut x, "f");
    x.sent.clear();

    // SMB, at an offset off the page boundary: the adapter takes the reply.
    let mid = x.smb_send(x.smb, command::READ, &smb_peer::read_body(fid, 1, 65_536));
    let mut done = x.io_held.remove(0).run();
    let Some(crate::io::Reply::Spliced(sp)) = done.take_reply() else { panic!("a spliced reply") };
    assert_eq!((sp.head.len(), sp.data.len(), sp.tail), (4 + 64 + 16, 65_536, 0));
    let reply = crate::io::Reply::Spliced(sp).into_bytes().unwrap();
    x.server.handle_io(done, x.now);
    x.collect();
    assert!(x.sent.is_empty(), "not sent again");
    let r = smb_peer::split(&reply);
    assert_eq!((r.len(), r[0].hdr.message_id, r[0].hdr.status), (1, mid, smb_peer::SUCCESS));
    assert_eq!(smb_peer::read_response_data(&r[0].body), Some(&data[1..65_537]));

    // NFS, up to the end of the file (50,001 bytes and 3 of padding): the
    // core sends the reply itself.
    let xid = x.send(&Nfs3Args::Read { fh, offset: 250_000, count: 100_000 });
    let done = x.io_held.remove(0).run();
    x.server.handle_io(done, x.now);
    x.collect();
    let reply = x.reply(xid).expect("the core sent the reply");
    let mut r = XdrReader::new(&reply);
    assert_eq!(r.u32().unwrap(), OK);
    if r.bool().unwrap() {
        r.fixed::<84>().unwrap();
    }
    assert_eq!((r.u32().unwrap(), r.bool().unwrap()), (50_001, true), "count and eof");
    assert_eq!(r.opaque(u32::MAX).unwrap(), &data[250_000..]);
    assert!(r.rest().is_empty(), "the padding ends the reply");
    drop(x);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A large lone WRITE whose data the adapter received into pipes
/// (`Server::handle_spliced_frame`) reaches storage in them: on a kernel
/// file (`LocalFs`) it is spliced in, never copied through a buffer, and the
/// file holds exactly what was sent (SMB at an offset; NFS with a length
/// that leaves XDR padding after the data). The replies are the usual ones.
#[test]
fn a_write_received_into_pipes_is_spliced_into_the_file() {
    let dir = std::env::temp_dir().join(format!("polyshare-spliced-write-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let spy = Observed::new(Box::new(crate::vfs::LocalFs::new(&dir).unwrap()), Spy(seen.clone()));
    let mut x = X::with_vfs(NfsBreakPolicy::Wait, |_| {}, Box::new(spy));
    x.splice_writes = true;
    let (id, fh) = x.file("f", b"");
    let fid = open(&mut x, "f");
    seen.lock().unwrap().writes.clear();
    // 64 KiB: what the test client's CreditCharge of 1 covers.
    let data: Vec<u8> = (0..65_536u32).map(|i| (i * 31 + i / 777) as u8).collect();

    let mid = x.smb_send(x.smb, command::WRITE, &smb_peer::write_body(fid, 10, &data));
    let r = x.smb_responses(x.smb, mid);
    assert_eq!((r.len(), r[0].hdr.status), (1, smb_peer::SUCCESS));
    assert_eq!(u32::from_le_bytes(r[0].body[4..8].try_into().unwrap()) as usize, data.len(), "Count");
    assert_eq!(seen.lock().unwrap().spliced, vec![(10, data.len())]);
    assert!(seen.lock().unwrap().writes.is_empty(), "no copy through a buffer");
    let mut want = vec![0u8; 10];
    want.extend_from_slice(&data);
    assert_eq!(x.content(id), want);

    let odd: Vec<u8> = (0..100_003u32).map(|i| (i * 7) as u8).collect();
    let odd = &odd[..];
    let xid = x.send(&super::write(&fh, odd));
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(seen.lock().unwrap().spliced.last(), Some(&(0, odd.len())));
    assert!(seen.lock().unwrap().writes.is_empty(), "no copy through a buffer");
    assert_eq!(&x.content(id)[..odd.len()], odd);

    // Small writes come whole, as before.
    let xid = x.send(&super::write(&fh, b"tiny"));
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(seen.lock().unwrap().writes.len(), 1);
    drop(x);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The cross-protocol promise holds for data in pipes: an NFS WRITE under
/// an SMB lease parks with its pipes, the lease breaks, and the
/// acknowledgment lets the very data land (storage that takes bytes reads
/// it out of the pipes: MemoryFs here).
#[test]
fn a_spliced_nfs_write_waits_for_the_lease_break_and_then_lands() {
    let mut x = X::new();
    x.splice_writes = true;
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let data: Vec<u8> = (0..70_001u32).map(|i| (i % 253) as u8).collect();
    let xid = x.send(&super::write(&fh, &data));
    assert_eq!(x.breaks(), vec![(LeaseState::RWH, NONE, true)]);
    assert!(x.no_replies(), "parked");
    assert_eq!(x.content(id), b"old");
    assert_eq!(x.ack(NONE), 0);
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.content(id), data);
}
