//! Every runtime adapter, in process on 127.0.0.1 port 0 with an in-memory
//! tree, driven by plain blocking sockets: framing, closing, recording and
//! replay, backpressure and shutdown behave the same on each.
#![cfg(any(feature = "tokio", feature = "mio", feature = "async-std"))]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use polyshare::record::{Event, Recording};
use polyshare::{BoundAddrs, Config, ConnId, MemoryFs, Output, Seed, ServerOptions, Setup};
use polyshare_core::smb::status;
use polyshare_core::smb::wire::header::command;
use polyshare_core::testing::smb_client as smb_peer;

const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A server running on its own thread.
struct Running {
    addrs: BoundAddrs,
    stop: Box<dyn FnOnce() + Send>,
    thread: JoinHandle<io::Result<()>>,
}

impl Running {
    fn smb(&self) -> SocketAddr {
        self.addrs.smb.expect("smb listener")
    }

    fn nfs(&self) -> SocketAddr {
        self.addrs.nfs.expect("nfs listener")
    }

    fn shut_down(self) {
        (self.stop)();
        self.thread.join().expect("server thread panicked").expect("serve failed");
    }
}

type Start = fn(ServerOptions, Setup) -> Running;

/// The tokio adapter on a runtime from `build`, on its own thread.
#[cfg(feature = "tokio")]
fn start_tokio_on(build: fn() -> io::Result<tokio::runtime::Runtime>, opts: ServerOptions, setup: Setup) -> Running {
    let (addrs_tx, addrs_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        build()?.block_on(async move {
            let listeners = polyshare_tokio::Listeners::bind(opts).await?;
            let _ = addrs_tx.send(listeners.local_addrs());
            polyshare_tokio::serve(listeners, setup, async {
                let _ = stop_rx.await;
            })
            .await
        })
    });
    let addrs = addrs_rx.recv().expect("server failed to bind");
    Running {
        addrs,
        stop: Box::new(move || {
            let _ = stop_tx.send(());
        }),
        thread,
    }
}

#[cfg(feature = "tokio")]
fn start_tokio(opts: ServerOptions, setup: Setup) -> Running {
    start_tokio_on(|| tokio::runtime::Builder::new_current_thread().enable_all().build(), opts, setup)
}

/// On a multi-threaded runtime, as the examples and the `polyshare` binary
/// run it (two workers).
#[cfg(feature = "tokio")]
fn start_tokio_multi(opts: ServerOptions, setup: Setup) -> Running {
    start_tokio_on(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build(), opts, setup)
}

#[cfg(feature = "mio")]
fn start_mio(opts: ServerOptions, setup: Setup) -> Running {
    let listeners = polyshare_mio::Listeners::bind(opts).expect("bind");
    let addrs = listeners.local_addrs();
    let stopper = listeners.stopper();
    let thread = std::thread::spawn(move || polyshare_mio::serve(listeners, setup));
    Running { addrs, stop: Box::new(move || stopper.stop()), thread }
}

#[cfg(feature = "async-std")]
fn start_async_std(opts: ServerOptions, setup: Setup) -> Running {
    let listeners = polyshare_async_std::Listeners::bind(opts).expect("bind");
    let addrs = listeners.local_addrs();
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let thread = std::thread::spawn(move || {
        async_io::block_on(polyshare_async_std::serve(listeners, setup, async move {
            let _ = stop_rx.recv().await;
        }))
    });
    Running {
        addrs,
        stop: Box::new(move || {
            let _ = stop_tx.try_send(());
        }),
        thread,
    }
}

fn loopback() -> Option<SocketAddr> {
    Some("127.0.0.1:0".parse().unwrap())
}

fn options(record: Option<PathBuf>) -> ServerOptions {
    ServerOptions { smb: loopback(), nfs: loopback(), record, ..ServerOptions::default() }
}

fn setup(seed: u64) -> Setup {
    Setup { config: Config::default(), vfs: Box::<MemoryFs>::default(), seed: Some(Seed::Fixed(seed)) }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Reads until the server closes the connection.
fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("the server should close the connection");
    got
}

/// An ONC RPC NULL call to NFSv3 with AUTH_NONE, record-marked
/// (RFC 5531 9 and 11, RFC 1813 3.3.0).
fn nfs_null_call(xid: u32) -> Vec<u8> {
    let words = [xid, 0, 2, 100_003, 3, 0, 0, 0, 0, 0];
    let body: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    let mut out = (0x8000_0000u32 | body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// The accepted, successful reply with an AUTH_NONE verifier and no results.
fn nfs_null_reply(xid: u32) -> Vec<u8> {
    let words = [0x8000_0018, xid, 1, 0, 0, 0, 0];
    words.iter().flat_map(|w: &u32| w.to_be_bytes()).collect()
}

// A stream that cannot be framed is closed, on both ports; nothing is sent.
fn closes_unframeable_streams(start: Start) {
    let server = start(options(None), setup(1));
    let mut smb = connect(server.smb());
    smb.write_all(&[0xfe, b'S', b'M', b'B']).unwrap();
    assert_eq!(read_to_close(&mut smb), b"");
    let mut nfs = connect(server.nfs());
    // A record mark announcing a 2 GiB fragment: over the frame limit.
    nfs.write_all(&[0x7f, 0xff, 0xff, 0xff]).unwrap();
    assert_eq!(read_to_close(&mut nfs), b"");
    server.shut_down();
}

/// Whether the server closes a fresh connection by itself within `wait`
/// (an accepted one stays open until it is sent something).
fn closed_by_server(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(0) => true,
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => true,
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => false,
        other => panic!("unexpected {other:?}"),
    }
}

// Over the connection limit, connections are refused (closed at once); a
// peer that goes away frees its slot (the core was told it closed).
fn refuses_over_the_limit_and_frees_closed_slots(start: Start) {
    let mut s = setup(5);
    s.config.limits.max_connections = 1;
    let server = start(options(None), s);
    let mut first = connect(server.smb());
    assert!(!closed_by_server(&mut first, Duration::from_millis(300)), "the first connection is accepted");
    let mut second = connect(server.nfs());
    assert!(closed_by_server(&mut second, IO_TIMEOUT), "the second is refused");
    drop(first);
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let mut again = connect(server.smb());
        if !closed_by_server(&mut again, Duration::from_millis(300)) {
            break;
        }
        assert!(Instant::now() < deadline, "the closed connection's slot was never freed");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.shut_down();
}

// Shutting down with a client connected closes it and returns cleanly.
fn shuts_down_with_clients_connected(start: Start) {
    let server = start(options(None), setup(2));
    let mut idle = connect(server.nfs());
    let mut half = connect(server.smb());
    half.write_all(&[0, 0, 0]).unwrap();
    // Make sure both were accepted before stopping.
    let mut probe = connect(server.smb());
    probe.write_all(&[0xff; 4]).unwrap();
    read_to_close(&mut probe);
    server.shut_down();
    assert_eq!(read_to_close(&mut idle), b"");
    assert_eq!(read_to_close(&mut half), b"");
}

// A recorded session replays through a fresh Server (same seed, same config)
// into exactly the bytes the clients received.
fn recording_replays_identically(start: Start) {
    let dir = std::env::temp_dir().join(format!("polyshare-rec-{}-{:?}", std::process::id(), Instant::now()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("session.psrec");
    let server = start(options(Some(file.clone())), setup(77));
    let nfs_port = server.nfs().port();

    // Each client: its local address and everything it received; each ends
    // with the server closing the connection.
    let mut sessions = Vec::new();
    // The server may close early (the stream ends with an unframeable
    // record mark), so later writes may fail.
    let mut null = connect(server.nfs());
    let _ = null.write_all(&nfs_null_call(7));
    let _ = null.write_all(&nfs_null_call(8)[..10]);
    std::thread::sleep(Duration::from_millis(20));
    let _ = null.write_all(&nfs_null_call(8)[10..]);
    let _ = null.write_all(&[0x7f, 0xff, 0xff, 0xff]);
    sessions.push((null.local_addr().unwrap(), read_to_close(&mut null)));
    let mut smb = connect(server.smb());
    let _ = smb.write_all(&[0xfe; 8]);
    sessions.push((smb.local_addr().unwrap(), read_to_close(&mut smb)));
    // One the client closes: recorded as Closed (if the server saw it
    // before shutting down).
    let gone = connect(server.nfs());
    gone.shutdown(Shutdown::Both).unwrap();
    drop(gone);
    std::thread::sleep(Duration::from_millis(50));
    server.shut_down();

    let rec = Recording::decode(&std::fs::read(&file).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(rec.seed, Seed::Fixed(77));
    let accepted: Vec<(ConnId, SocketAddr)> = rec
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Accept { conn, peer, .. } => Some((*conn, *peer)),
            _ => None,
        })
        .collect();
    assert_eq!(accepted.len(), 3, "{:?}", rec.events);
    assert!(rec.events.iter().any(|(_, e)| matches!(e, Event::Input { .. })));
    let offsets: Vec<Duration> = rec.events.iter().map(|(t, _)| *t).collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "events out of order: {offsets:?}");

    let mut config = Config::default();
    config.nfs.port = nfs_port;
    let t0 = Instant::now();
    let mut fresh = rec.server(config, Box::<MemoryFs>::default(), t0);
    let outputs = rec.replay(&mut fresh, t0);
    for (local, received) in sessions {
        let conn = accepted.iter().find(|(_, peer)| *peer == local).expect("client was recorded").0;
        let sent: Vec<u8> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Transmit { conn: c, data } if *c == conn => Some(data.to_vec()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(sent, received, "bytes sent to {local}");
        assert!(outputs.contains(&Output::Close { conn }), "{local} was closed by the server");
    }
}

// Needs the NFS NULL procedure: passes once the NFS server lands.
fn answers_nfs_null(start: Start) {
    let server = start(options(None), setup(3));
    let mut s = connect(server.nfs());
    let mut calls = nfs_null_call(1);
    calls.extend(nfs_null_call(2));
    s.write_all(&calls).unwrap();
    let mut reply = vec![0; 2 * 28];
    s.read_exact(&mut reply).unwrap();
    let mut want = nfs_null_reply(1);
    want.extend(nfs_null_reply(2));
    assert_eq!(reply, want);
    server.shut_down();
}

// A client that sends without reading: once the replies queued for it pass
// the output limit the server stops reading, so the client's writes block
// for good (instead of the server buffering without bound); then every
// reply arrives, in order, nothing dropped. Needs the NFS NULL procedure.
fn slow_reader_is_backpressured(start: Start) {
    let opts = ServerOptions { output_limit: 64 * 1024, ..options(None) };
    let server = start(opts, setup(4));
    let mut s = connect(server.nfs());
    s.set_nonblocking(true).unwrap();
    let batch: Vec<u8> = (0..1000).flat_map(nfs_null_call).collect();
    let (mut sent, mut stalled_since) = (0usize, None);
    // Far more than the socket buffers can hold: without backpressure the
    // server would read (and queue replies for) all of it.
    const CEILING: usize = 256 << 20;
    while sent < CEILING {
        let off = sent % batch.len();
        match s.write(&batch[off..]) {
            Ok(n) => (sent, stalled_since) = (sent + n, None),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let since = *stalled_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(2) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("write failed: {e}"),
        }
    }
    assert!(sent < CEILING, "the server kept reading {sent} bytes from a client that never reads");
    eprintln!("the server stopped reading after {sent} bytes");
    // Take every reply while finishing the last partial call (the server
    // reads it only once replies drain).
    s.set_nonblocking(false).unwrap();
    let call_len = nfs_null_call(0).len();
    let calls = sent.div_ceil(call_len);
    let mut r = s.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        let mut replies = vec![0; calls * 28];
        r.read_exact(&mut replies).map(|()| replies)
    });
    let off = sent % batch.len();
    s.write_all(&batch[off..off + calls * call_len - sent]).unwrap();
    let replies = reader.join().unwrap().expect("every reply arrives");
    for (i, r) in replies.chunks(28).enumerate() {
        assert_eq!(r, nfs_null_reply((i % 1000) as u32), "reply {i}");
    }
    server.shut_down();
}

/// A blocking SMB client over a real socket: a guest session and a tree
/// connected, built from the core's test client's messages.
struct SmbPeer {
    s: TcpStream,
    mid: u64,
    session: u64,
    tree: u32,
}

impl SmbPeer {
    fn login(addr: SocketAddr, guid: [u8; 16]) -> Self {
        let mut p = SmbPeer { s: connect(addr), mid: 0, session: 0, tree: 0 };
        let r = p.call(command::NEGOTIATE, &smb_peer::negotiate_body(guid));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        let r = p.call(command::SESSION_SETUP, &smb_peer::session_setup_body(&smb_peer::ntlm_negotiate()));
        p.session = r.hdr.session_id;
        let r = p.call(command::SESSION_SETUP, &smb_peer::session_setup_body(&smb_peer::ntlm_guest_authenticate()));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        let r = p.call(command::TREE_CONNECT, &smb_peer::tree_connect_body("\\\\127.0.0.1\\SHARE"));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        p.tree = r.hdr.tree_id;
        p
    }

    /// One whole frame (4-byte length prefix, RFC 1002 session message).
    fn frame(&mut self) -> Vec<u8> {
        let mut len = [0u8; 4];
        self.s.read_exact(&mut len).expect("frame length");
        let n = u32::from_be_bytes(len) as usize & 0x00ff_ffff;
        let mut f = len.to_vec();
        f.resize(4 + n, 0);
        self.s.read_exact(&mut f[4..]).expect("frame");
        f
    }

    /// Sends one request and returns its final response.
    fn call(&mut self, cmd: u16, body: &[u8]) -> smb_peer::Msg {
        let mid = self.mid;
        self.mid += 1;
        self.s.write_all(&smb_peer::request(cmd, mid, self.session, self.tree, body)).unwrap();
        loop {
            for m in smb_peer::split(&self.frame()) {
                if m.hdr.message_id == mid && m.hdr.status != status::PENDING {
                    return m;
                }
                assert!(m.hdr.message_id == mid, "unexpected message {:?}", m.hdr);
            }
        }
    }
}

// What the core produces in one order leaves in that order, across
// connections too: a lease break owed to one client and the reply to the
// request that caused it, on another client's connection, produced in the
// same turn of the core. A byte-range lock breaks other opens' R leases to
// none without waiting for an acknowledgment (MS-FSA 2.1.5.7, MS-SMB2
// 3.3.4.7), so the LOCK's reply follows the break at once; by the time the
// locker has its reply, the break must already be in the lease holder's
// socket (a non-blocking read finds it). smbtorture's smb2.lease.unlink
// relies on this order (its break and reply travel on two connections).
fn a_break_leaves_before_the_reply_that_caused_it(start: Start) {
    let server = start(options(None), setup(5));
    let mut holder = SmbPeer::login(server.smb(), [0xA1; 16]);
    let mut locker = SmbPeer::login(server.smb(), [0xB2; 16]);
    for round in 0..20u8 {
        let name = format!("ordered{round}.bin");
        let r = holder.call(command::CREATE, &smb_peer::create_body(&name, Some(([round; 16], 1))));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        let r = locker.call(command::CREATE, &smb_peer::create_body(&name, None));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        let fid = r.file_id();
        let r = locker.call(command::LOCK, &smb_peer::lock_body(fid, 0, 10, smb_peer::LOCK_EXCLUSIVE_NOW));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        holder.s.set_nonblocking(true).unwrap();
        let mut first = [0u8; 4];
        let got = holder.s.read(&mut first);
        holder.s.set_nonblocking(false).unwrap();
        assert!(matches!(got, Ok(4)), "round {round}: the break was not there before the reply: {got:?}");
        let mut rest = vec![0; (u32::from_be_bytes(first) & 0x00ff_ffff) as usize];
        holder.s.read_exact(&mut rest).unwrap();
        let mut frame = first.to_vec();
        frame.extend_from_slice(&rest);
        let brk = smb_peer::split(&frame).remove(0).lease_break().expect("a lease break");
        assert_eq!((brk.current_state, brk.new_state), (1, 0), "round {round}: R breaks to none");
        locker.call(command::CLOSE, &smb_peer::close_body(fid));
    }
    server.shut_down();
}

// Large WRITEs sent back to back, with an ECHO between them, land whole
// and in place: on tokio and async-io their data is spliced from the socket
// into pipes (the reader sees each head first), on mio it is framed in the
// core; either way the file reads back as written and every request is
// answered.
fn large_writes_land_whole(start: Start) {
    let server = start(options(None), setup(6));
    let mut c = SmbPeer::login(server.smb(), [0xC3; 16]);
    let r = c.call(command::CREATE, &smb_peer::create_body("big.bin", None));
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    let fid = r.file_id();
    // 64 KiB each: what a CreditCharge of 1 covers.
    let chunk = 65_536usize;
    let data: Vec<u8> = (0..3 * chunk as u32).map(|i| (i * 7 + i / 4096) as u8).collect();
    let mut stream = Vec::new();
    let first = c.mid;
    for (k, part) in data.chunks(chunk).enumerate() {
        let body = smb_peer::write_body(fid, (k * chunk) as u64, part);
        stream.extend_from_slice(&smb_peer::request(command::WRITE, c.mid, c.session, c.tree, &body));
        c.mid += 1;
        stream.extend_from_slice(&smb_peer::request(command::ECHO, c.mid, c.session, c.tree, &[4, 0, 0, 0]));
        c.mid += 1;
    }
    c.s.write_all(&stream).unwrap();
    let mut answered = Vec::new();
    while answered.len() < 6 {
        for m in smb_peer::split(&c.frame()) {
            assert_eq!(m.hdr.status, smb_peer::SUCCESS, "{:?}", m.hdr);
            answered.push(m.hdr.message_id);
        }
    }
    answered.sort_unstable();
    assert_eq!(answered, (first..first + 6).collect::<Vec<_>>());
    for (k, part) in data.chunks(chunk).enumerate() {
        let r = c.call(command::READ, &smb_peer::read_body(fid, (k * chunk) as u64, chunk as u32));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        assert!(smb_peer::read_response_data(&r.body) == Some(part), "chunk {k} reads back as written");
    }
    server.shut_down();
}

macro_rules! runtime_tests {
    ($runtime:ident, $start:path) => {
        mod $runtime {
            use super::*;

            #[test]
            fn closes_unframeable_streams() {
                super::closes_unframeable_streams($start);
            }

            #[test]
            fn shuts_down_with_clients_connected() {
                super::shuts_down_with_clients_connected($start);
            }

            #[test]
            fn refuses_over_the_limit_and_frees_closed_slots() {
                super::refuses_over_the_limit_and_frees_closed_slots($start);
            }

            #[test]
            fn recording_replays_identically() {
                super::recording_replays_identically($start);
            }

            #[test]
            fn answers_nfs_null() {
                super::answers_nfs_null($start);
            }

            #[test]
            fn a_break_leaves_before_the_reply_that_caused_it() {
                super::a_break_leaves_before_the_reply_that_caused_it($start);
            }

            #[test]
            fn slow_reader_is_backpressured() {
                super::slow_reader_is_backpressured($start);
            }

            #[test]
            fn large_writes_land_whole() {
                super::large_writes_land_whole($start);
            }
        }
    };
}

#[cfg(feature = "tokio")]
runtime_tests!(tokio_runtime, start_tokio);

#[cfg(feature = "tokio")]
runtime_tests!(tokio_multi_thread_runtime, start_tokio_multi);

#[cfg(feature = "mio")]
runtime_tests!(mio_runtime, start_mio);

#[cfg(feature = "async-std")]
runtime_tests!(async_std_runtime, start_async_std);
