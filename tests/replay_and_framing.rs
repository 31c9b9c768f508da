//! Foundation properties on whole Servers: recorded runs replay to
//! byte-identical output; an unframeable stream closes only its own
//! connection.

mod common;

use std::time::{Duration, Instant};

use common::nfs_client::{MOUNT_PROG, NFS_PROG, Reader, Xdr};
use polyshare_core::record::Recording;
use polyshare_core::testing::sim::Sim;
use polyshare_core::{Config, MemoryFs, Output, Protocol, Server};

fn call(xid: u32, prog: u32, vers: u32, proc_: u32, args: &[u8]) -> Vec<u8> {
    let mut m = Xdr::default().u32(xid).u32(0).u32(2).u32(prog).u32(vers).u32(proc_).u32(0).u32(0).u32(0).u32(0).0;
    m.extend_from_slice(args);
    m
}

/// (xid, accept_stat, results) of one reply frame.
fn reply(frame: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut r = Reader(frame);
    let xid = r.u32();
    assert_eq!(r.u32(), 1, "not a reply");
    assert_eq!(r.u32(), 0, "reply denied");
    r.u32();
    r.opaque();
    let accept = r.u32();
    (xid, accept, r.0.to_vec())
}

/// Mounts /share and writes then reads a file over NFS in the simulation.
fn nfs_session(sim: &mut Sim) {
    let c = sim.connect(Protocol::Nfs);
    sim.send_frame(c, &call(1, MOUNT_PROG, 3, 1, &Xdr::default().opaque(b"/share").0));
    let (_, _, body) = reply(&sim.recv_one(c));
    let mut r = Reader(&body);
    assert_eq!(r.u32(), 0, "MNT failed");
    let root = r.opaque();
    let sattr = Xdr::default().u32(1).u32(0o644).u32(0).u32(0).u32(0).u32(0).u32(0).0;
    let mut args = Xdr::default().opaque(&root).opaque(b"f.txt").u32(0).0;
    args.extend_from_slice(&sattr);
    sim.send_frame(c, &call(2, NFS_PROG, 3, 8, &args));
    let (_, _, body) = reply(&sim.recv_one(c));
    let mut r = Reader(&body);
    assert_eq!(r.u32(), 0, "CREATE failed");
    assert_eq!(r.u32(), 1, "no handle");
    let fh = r.opaque();
    sim.advance(Duration::from_millis(250));
    // A WRITE split across many small chunks, as TCP may deliver it.
    let w = call(3, NFS_PROG, 3, 7, &Xdr::default().opaque(&fh).u64(0).u32(5).u32(2).opaque(b"hello").0);
    let framed = polyshare_core::framing::encode_frame(Protocol::Nfs.transport(), &w);
    for chunk in framed.chunks(3) {
        sim.send(c, chunk);
    }
    let (_, accept, body) = reply(&sim.recv_one(c));
    assert_eq!((accept, Reader(&body).u32()), (0, 0), "WRITE failed");
    sim.send_frame(c, &call(4, NFS_PROG, 3, 6, &Xdr::default().opaque(&fh).u64(0).u32(100).0));
    let (_, _, body) = reply(&sim.recv_one(c));
    let mut r = Reader(&body);
    assert_eq!(r.u32(), 0);
    r.post_op_attr();
    r.u32();
    r.u32();
    assert_eq!(r.opaque(), b"hello");
    sim.disconnect(c);
}

#[test]
fn a_recorded_run_replays_to_byte_identical_output() {
    let start = Instant::now();
    let mut sim = Sim::with_memory(77, start);
    nfs_session(&mut sim);
    // An SMB connection that sends garbage is part of the run too.
    let s = sim.connect(Protocol::Smb);
    sim.send(s, &[0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
    sim.advance(Duration::from_secs(120));
    let recording = Recording::decode(&sim.recording()).expect("decodes");
    let expected: Vec<&Output> = sim.log.iter().map(|(_, o)| o).collect();
    assert!(expected.iter().filter(|o| matches!(o, Output::Transmit { .. })).count() >= 4);

    assert_eq!(recording.seed, polyshare::Seed::Fixed(77));
    let start2 = Instant::now() + Duration::from_secs(1000);
    let mut fresh = Server::with_seed(Config::default(), Box::new(MemoryFs::default()), recording.seed, start2);
    let replayed = recording.replay(&mut fresh, start2);
    assert_eq!(replayed.iter().collect::<Vec<_>>(), expected, "replay differs from the recorded run");
}

#[test]
fn an_oversized_frame_closes_only_its_own_connection() {
    let mut config = Config::default();
    config.limits.max_frame = 1 << 20;
    let mut sim = Sim::new(config, Box::new(MemoryFs::default()), 1, Instant::now());
    let good = sim.connect(Protocol::Nfs);
    let bad_nfs = sim.connect(Protocol::Nfs);
    let bad_smb = sim.connect(Protocol::Smb);
    // A fragment of 2^31-1 bytes and an SMB frame of 16 MiB - 1, both beyond the 1 MiB limit.
    sim.send(bad_nfs, &[0x7f, 0xff, 0xff, 0xff]);
    sim.send(bad_smb, &[0, 0xff, 0xff, 0xff]);
    assert!(sim.is_closed(bad_nfs) && sim.is_closed(bad_smb));
    assert!(!sim.is_closed(good));
    sim.send_frame(good, &call(9, NFS_PROG, 3, 0, &[]));
    let (xid, accept, _) = reply(&sim.recv_one(good));
    assert_eq!((xid, accept), (9, 0), "the other connection is still served");
    assert_eq!(sim.server.connection_count(), 1);
}

#[test]
fn framing_is_independent_of_chunking_on_a_live_server() {
    let mut whole = Sim::with_memory(5, Instant::now());
    let c = whole.connect(Protocol::Nfs);
    let mut stream = Vec::new();
    for xid in 1..=3 {
        stream.extend_from_slice(&polyshare_core::framing::encode_frame(
            Protocol::Nfs.transport(),
            &call(xid, NFS_PROG, 3, 0, &[]),
        ));
    }
    whole.send(c, &stream);
    let expected = whole.recv(c);
    assert_eq!(expected.len(), 3);
    let mut bytewise = Sim::with_memory(5, whole.start());
    let c = bytewise.connect(Protocol::Nfs);
    for b in &stream {
        bytewise.send(c, std::slice::from_ref(b));
    }
    assert_eq!(bytewise.recv(c), expected);
}
