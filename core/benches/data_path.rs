//! The READ and WRITE data paths through the core: SMB 3.1.1 READ and WRITE
//! of 1 MiB and 8 MiB, NFSv3 READ and WRITE of 1 MiB (the NFS maximum per
//! call), against `MemoryFs`, with storage requests run inline on the bench
//! thread (`req.run()`, then `Server::handle_io`). Requests enter through
//! `Server::handle_frame` (a whole message, not copied), as an adapter that
//! delimits messages itself hands them over; `smb_write_input_8MiB` enters
//! through `Server::handle_input` (the framer) as a control.
//!
//! Besides time and throughput, the bench prints, once, how many bytes the
//! core copies per byte served. The core does not count anything about
//! itself; the figures come from outside it:
//!
//! * a spy `Vfs` notes the address of the buffer each `read_into` fills and
//!   of the data each `write` receives. A READ whose transmitted reply
//!   `Bytes` contains the very bytes storage filled made no copy between
//!   storage and the wire; a WRITE whose data is a slice of the message
//!   handed to `handle_frame` made no copy between the wire and storage.
//! * the bench binary's global allocator is `stats_alloc`'s counting wrapper
//!   of the system allocator (the crate's code, not ours: the workspace
//!   forbids `unsafe`). Bytes allocated (and grown by `realloc`) while one
//!   request goes through the core, in steady state, are divided by the
//!   payload: a copy of the payload into a fresh buffer shows up as about
//!   1.0 per copy. A copy into an already allocated buffer would not show
//!   here; the pointer check covers the path storage <-> wire.
//!
//! Not counted, because they are the I/O itself: `MemoryFs` copying between
//! its store and the buffer (a read(2)/write(2) on a real file system), and
//! the kernel copying the reply into the socket.
//!
//! `cargo bench -p polyshare-core --features sim --bench data_path`; under
//! `cargo test --workspace --all-targets` each benchmark runs once.

use std::alloc::System;
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polyshare_core::nfs::PROG_NFS;
use polyshare_core::nfs::nfs3::args::{Nfs3Args, StableHow};
use polyshare_core::nfs::nfs3::fh::{FhBytes, NfsFh3};
use polyshare_core::nfs::rpc::{self, AuthSys, Credentials};
use polyshare_core::nfs::xdr::XdrWriter;
use polyshare_core::smb::wire::codec::FileId;
use polyshare_core::smb::wire::header::{Header, command};
use polyshare_core::testing::smb_client as smb_peer;
use polyshare_core::time::Timespec;
use polyshare_core::vfs::{CreateAttr, DataHook, ObjectId, Observed, VfsResult};
use polyshare_core::{Config, ConnId, MemoryFs, Output, Protocol, Server};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const MIB: usize = 1 << 20;

/// Where storage last read into and wrote from: (address, length).
#[derive(Debug, Default)]
struct Seen {
    read_addr: AtomicUsize,
    read_len: AtomicUsize,
    write_addr: AtomicUsize,
    write_len: AtomicUsize,
}

/// Notes the buffers of data operations.
#[derive(Debug)]
struct Spy(Arc<Seen>);

impl DataHook for Spy {
    fn read(&self, _: ObjectId, _: u64, buf: &[u8]) -> VfsResult<()> {
        self.0.read_addr.store(buf.as_ptr() as usize, Ordering::Relaxed);
        self.0.read_len.store(buf.len(), Ordering::Relaxed);
        Ok(())
    }

    fn write(&self, _: ObjectId, _: u64, data: &[u8]) -> VfsResult<()> {
        self.0.write_addr.store(data.as_ptr() as usize, Ordering::Relaxed);
        self.0.write_len.store(data.len(), Ordering::Relaxed);
        Ok(())
    }
}

/// A server with one anonymous SMB 3.1.1 session (tree connected, `f` open)
/// and one NFS connection, over a spied MemoryFs holding an 8 MiB file `f`.
struct Rig {
    server: Server,
    now: Instant,
    seen: Arc<Seen>,
    smb: ConnId,
    nfs: ConnId,
    mid: u64,
    session: u64,
    tree: u32,
    fid: FileId,
    fh: FhBytes,
    xid: u32,
}

impl Rig {
    // Anchors the server clock once, as an adapter would.
    #[allow(clippy::disallowed_methods)]
    fn new() -> Self {
        let seen = Arc::new(Seen::default());
        let vfs = Observed::new(Box::new(MemoryFs::new()), Spy(seen.clone()));
        let now = Instant::now();
        let mut config = Config::default();
        config.limits.unauthenticated_timeout = Duration::from_secs(3600);
        let mut server = Server::new(config, Box::new(vfs), 7, now);
        let t = Timespec::new(1, 0);
        let root = server.vfs().root();
        let a = server.vfs().create(root, "f", CreateAttr { mode: 0o666, uid: 1000, gid: 1000 }, t).unwrap();
        let data: Vec<u8> = (0..8 * MIB).map(|i| (i % 251) as u8).collect();
        server.vfs().write(a.id, 0, &data, t).unwrap();
        let fh = NfsFh3 { export: 0, epoch: 0, id: a.id, generation: a.generation }.to_fh();
        let peer = |p: &str| p.parse::<SocketAddr>().unwrap();
        let smb = server.accept(Protocol::Smb, peer("127.0.0.1:40000"), now).unwrap();
        let nfs = server.accept(Protocol::Nfs, peer("127.0.0.1:800"), now).unwrap();
        let mut rig =
            Rig { server, now, seen, smb, nfs, mid: 0, session: 0, tree: 0, fid: FileId::default(), fh, xid: 1 };

        let r = rig.smb_call(command::NEGOTIATE, &smb_peer::negotiate_body([0xC1; 16]));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS, "NEGOTIATE");
        let r = rig.smb_call(command::SESSION_SETUP, &smb_peer::session_setup_body(&smb_peer::ntlm_negotiate()));
        rig.session = r.hdr.session_id;
        let auth = smb_peer::session_setup_body(&smb_peer::ntlm_anonymous_authenticate());
        assert_eq!(rig.smb_call(command::SESSION_SETUP, &auth).hdr.status, smb_peer::SUCCESS, "SESSION_SETUP");
        let r = rig.smb_call(command::TREE_CONNECT, &smb_peer::tree_connect_body("\\\\127.0.0.1\\SHARE"));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS, "TREE_CONNECT");
        rig.tree = r.hdr.tree_id;
        let r = rig.smb_call(command::CREATE, &smb_peer::create_body("f", None));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS, "CREATE");
        rig.fid = r.file_id();
        rig
    }

    /// An SMB2 message (no Direct-TCP header) charging one credit per 64 KiB
    /// of `payload` and asking for enough credits to keep the window open.
    fn smb_message(&mut self, cmd: u16, payload: usize, body: &[u8]) -> Vec<u8> {
        let charge = payload.div_ceil(65536).max(1) as u16;
        let h = Header {
            credit_charge: charge,
            command: cmd,
            credits: 256,
            message_id: self.mid,
            tree_id: self.tree,
            session_id: self.session,
            ..Default::default()
        };
        self.mid += u64::from(charge);
        let mut m = Vec::with_capacity(64 + body.len());
        h.encode(&mut m);
        m.extend_from_slice(body);
        m
    }

    /// Runs the core until it has nothing more to do: storage requests run
    /// inline; returns the last message transmitted.
    fn drive(&mut self) -> Option<Bytes> {
        let mut last = None;
        while let Some(o) = self.server.poll_output() {
            match o {
                Output::Io(req) => self.server.handle_io(req.run(), self.now),
                Output::Transmit { data, .. } => last = Some(data),
                _ => {}
            }
        }
        last
    }

    fn smb_call(&mut self, cmd: u16, body: &[u8]) -> smb_peer::Msg {
        let m = self.smb_message(cmd, 0, body);
        self.server.handle_frame(self.smb, Bytes::from(m), self.now);
        let reply = self.drive().expect("a response");
        smb_peer::split(&reply).remove(0)
    }

    fn smb_read(&mut self, len: usize) -> Bytes {
        let m = self.smb_message(command::READ, len, &smb_peer::read_body(self.fid, 0, len as u32));
        self.server.handle_frame(self.smb, Bytes::from(m), self.now);
        self.drive().expect("a READ response")
    }

    /// A WRITE message of `len` bytes, to be resent with [`Rig::smb_write`].
    fn smb_write_message(&mut self, len: usize) -> BytesMut {
        let data = vec![0x5A; len];
        BytesMut::from(&self.smb_message(command::WRITE, len, &smb_peer::write_body(self.fid, 0, &data))[..])
    }

    /// Sends `msg` again under the next message id, without copying it:
    /// the core's references are gone once the reply is out, and the buffer
    /// comes back for the next round.
    fn smb_write(&mut self, msg: BytesMut) -> (Bytes, BytesMut) {
        let mut msg = msg;
        let len = u32::from_le_bytes(msg[64 + 4..64 + 8].try_into().unwrap()) as usize;
        let charge = len.div_ceil(65536).max(1) as u64;
        msg[24..32].copy_from_slice(&self.mid.to_le_bytes());
        self.mid += charge;
        let frame = msg.freeze();
        self.server.handle_frame(self.smb, frame.clone(), self.now);
        let reply = self.drive().expect("a WRITE response");
        (reply, frame.try_into_mut().expect("the core let go of the message"))
    }

    fn nfs_record(&mut self, args: &Nfs3Args) -> BytesMut {
        self.xid += 1;
        let cred =
            Credentials::Sys(AuthSys { stamp: 1, machinename: b"c".to_vec(), uid: 1000, gid: 1000, gids: vec![] });
        let mut w = XdrWriter::new();
        rpc::encode_call(&mut w, self.xid, PROG_NFS, 3, args.proc_no(), &cred);
        args.encode(&mut w);
        BytesMut::from(w.as_slice())
    }

    /// Sends record `rec` under the next xid; returns the reply and the
    /// record for reuse.
    fn nfs_call(&mut self, rec: BytesMut) -> (Bytes, BytesMut) {
        let mut rec = rec;
        self.xid += 1;
        rec[0..4].copy_from_slice(&self.xid.to_be_bytes());
        let frame = rec.freeze();
        self.server.handle_frame(self.nfs, frame.clone(), self.now);
        let reply = self.drive().expect("an NFS reply");
        (reply, frame.try_into_mut().expect("the core let go of the record"))
    }

    fn nfs_read_record(&mut self, len: usize) -> BytesMut {
        self.nfs_record(&Nfs3Args::Read { fh: self.fh.clone(), offset: 0, count: len as u32 })
    }

    fn nfs_write_record(&mut self, len: usize) -> BytesMut {
        let args = Nfs3Args::Write {
            fh: self.fh.clone(),
            offset: 0,
            count: len as u32,
            stable: StableHow::Unstable,
            data: vec![0x5A; len].into(),
        };
        self.nfs_record(&args)
    }

    fn read_in_place(&self, reply: &Bytes) -> bool {
        let (addr, len) = (self.seen.read_addr.load(Ordering::Relaxed), self.seen.read_len.load(Ordering::Relaxed));
        within(reply, addr, len)
    }

    fn write_in_place(&self, msg: &[u8]) -> bool {
        let (addr, len) = (self.seen.write_addr.load(Ordering::Relaxed), self.seen.write_len.load(Ordering::Relaxed));
        within(msg, addr, len)
    }
}

fn within(outer: &[u8], addr: usize, len: usize) -> bool {
    let start = outer.as_ptr() as usize;
    len > 0 && addr >= start && addr + len <= start + outer.len()
}

/// Bytes allocated (fresh, or grown by realloc) while `f` runs.
fn allocated<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let region = Region::new(GLOBAL);
    let out = f();
    let s = region.change();
    (out, s.bytes_allocated + s.bytes_reallocated.max(0) as usize)
}

/// One line of the copy report: the third round of a case (the read buffer
/// pool is warm by then), measured from outside the core.
fn report_line(case: &str, payload: usize, alloc: usize, in_place: bool, what: &str) {
    let per = alloc as f64 / payload as f64;
    // A payload-sized allocation is a copy; the pointer check tells whether
    // the bytes storage saw are the bytes on the wire.
    let copies = if in_place { per.floor() } else { per.floor().max(1.0) };
    eprintln!(
        "  {case:<22} allocated {alloc:>9} B/request = {per:.4} B per payload byte; {what}: {}; \
         => {copies:.0} copy/byte served",
        if in_place { "same bytes (no copy)" } else { "DIFFERENT bytes (copied)" },
    );
}

fn copy_report(_: &mut Criterion) {
    let mut rig = Rig::new();
    eprintln!("data_path: bytes copied by the core per byte served (storage I/O and socket writes excluded)");
    for len in [MIB, 8 * MIB] {
        let mut last = (0, false);
        for _ in 0..3 {
            let (reply, alloc) = allocated(|| rig.smb_read(len));
            assert_eq!(reply.len(), 4 + 64 + 16 + len, "the whole READ was served");
            last = (alloc, rig.read_in_place(&reply));
        }
        report_line(&format!("smb_read_{}MiB", len / MIB), len, last.0, last.1, "storage buffer vs reply");
    }
    for len in [MIB, 8 * MIB] {
        let mut msg = rig.smb_write_message(len);
        let mut last = (0, false);
        for _ in 0..3 {
            let ((reply, back), alloc) = allocated(|| rig.smb_write(msg));
            assert_eq!(smb_peer::split(&reply)[0].hdr.status, smb_peer::SUCCESS);
            last = (alloc, rig.write_in_place(&back));
            msg = back;
        }
        report_line(&format!("smb_write_{}MiB", len / MIB), len, last.0, last.1, "message vs storage data");
    }
    {
        // Control: the same WRITE through handle_input, whose framer copies
        // the message once (the method should see it).
        let len = 8 * MIB;
        let mut last = (0, false);
        for _ in 0..3 {
            let msg = rig.smb_write_message(len);
            let mut framed = vec![0, (msg.len() >> 16) as u8, (msg.len() >> 8) as u8, msg.len() as u8];
            framed.extend_from_slice(&msg);
            let (reply, alloc) = allocated(|| {
                rig.server.handle_input(rig.smb, &framed, rig.now);
                rig.drive().expect("a WRITE response")
            });
            assert_eq!(smb_peer::split(&reply)[0].hdr.status, smb_peer::SUCCESS);
            last = (alloc, rig.write_in_place(&framed));
        }
        report_line("smb_write_input_8MiB", len, last.0, last.1, "message vs storage data");
    }
    let mut rec = rig.nfs_read_record(MIB);
    let mut last = (0, false);
    for _ in 0..3 {
        let ((reply, back), alloc) = allocated(|| rig.nfs_call(rec));
        assert!(reply.len() > MIB, "the whole READ was served");
        last = (alloc, rig.read_in_place(&reply));
        rec = back;
    }
    report_line("nfs_read_1MiB", MIB, last.0, last.1, "storage buffer vs reply");
    let mut rec = rig.nfs_write_record(MIB);
    for _ in 0..3 {
        let ((_, back), alloc) = allocated(|| rig.nfs_call(rec));
        last = (alloc, rig.write_in_place(&back));
        rec = back;
    }
    report_line("nfs_write_1MiB", MIB, last.0, last.1, "record vs storage data");
}

fn smb(c: &mut Criterion) {
    let mut rig = Rig::new();
    let mut g = c.benchmark_group("smb");
    for len in [MIB, 8 * MIB] {
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("read_{}MiB", len / MIB), |b| b.iter(|| black_box(rig.smb_read(len))));
        let mut msg = Some(rig.smb_write_message(len));
        g.bench_function(format!("write_{}MiB", len / MIB), |b| {
            b.iter(|| {
                let (reply, back) = rig.smb_write(msg.take().unwrap());
                msg = Some(back);
                black_box(reply)
            })
        });
    }
    g.finish();
}

fn nfs(c: &mut Criterion) {
    let mut rig = Rig::new();
    let mut g = c.benchmark_group("nfs");
    g.throughput(Throughput::Bytes(MIB as u64));
    let mut rec = Some(rig.nfs_read_record(MIB));
    g.bench_function("read_1MiB", |b| {
        b.iter(|| {
            let (reply, back) = rig.nfs_call(rec.take().unwrap());
            rec = Some(back);
            black_box(reply)
        })
    });
    let mut rec = Some(rig.nfs_write_record(MIB));
    g.bench_function("write_1MiB", |b| {
        b.iter(|| {
            let (reply, back) = rig.nfs_call(rec.take().unwrap());
            rec = Some(back);
            black_box(reply)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = copy_report, smb, nfs
}
criterion_main!(benches);
