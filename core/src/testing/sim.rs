//! Test support (feature `sim`): a virtual clock the test moves, connections
//! as in-memory pipes, run-until-idle, and recording of every input so any
//! simulated run can be replayed byte for byte.
//!
//! Time is only ever the test's: [`Sim::advance`] jumps the clock from one
//! due deadline to the next, firing each at its exact instant, and never
//! sleeps. A 35 s lease-break timeout passes in microseconds.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::framing::Framer;
use crate::id::{ConnId, Protocol};
use crate::output::Output;
use crate::record::{Event, Recorder};
use crate::server::Server;
use crate::vfs::Vfs;
use crate::{Config, MemoryFs};

/// The client end of one simulated connection.
#[derive(Debug)]
pub struct Pipe {
    pub protocol: Protocol,
    /// Frames the server sent, de-framed, not yet taken by the test.
    inbox: Vec<Bytes>,
    framer: Framer,
    /// Every byte the server sent on this connection, framed, in order.
    pub wire: Vec<u8>,
    /// The server closed the connection.
    pub closed: bool,
}

/// A Server driven by a virtual clock.
#[derive(Debug)]
pub struct Sim {
    pub server: Server,
    start: Instant,
    now: Instant,
    pipes: BTreeMap<ConnId, Pipe>,
    recorder: Recorder,
    recorded: Vec<u8>,
    /// Every output in order, with the instant it was taken.
    pub log: Vec<(Instant, Output)>,
    next_port: u16,
}

impl Sim {
    /// A server with `config` over `vfs`, whose clock starts at `start`.
    pub fn new(config: Config, vfs: Box<dyn Vfs>, seed: u64, start: Instant) -> Self {
        let anchor = config.wall_anchor;
        Self {
            server: Server::new(config, vfs, seed, start),
            start,
            now: start,
            pipes: BTreeMap::new(),
            recorder: Recorder::new(crate::rng::Seed::Fixed(seed), anchor, start),
            recorded: Vec::new(),
            log: Vec::new(),
            next_port: 40000,
        }
    }

    /// The default configuration over an empty MemoryFs.
    pub fn with_memory(seed: u64, start: Instant) -> Self {
        Self::new(Config::default(), Box::new(MemoryFs::default()), seed, start)
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// Time since the simulation started.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Opens a connection from a fresh loopback port.
    pub fn connect(&mut self, protocol: Protocol) -> ConnId {
        self.next_port += 1;
        let peer: SocketAddr = ([127, 0, 0, 1], self.next_port).into();
        self.connect_from(protocol, peer)
    }

    pub fn connect_from(&mut self, protocol: Protocol, peer: SocketAddr) -> ConnId {
        let conn = self.server.accept(protocol, peer, self.now).unwrap_or_else(|e| panic!("accept refused: {e}"));
        self.recorder.record(&Event::Accept { conn, protocol, peer }, self.now);
        let max = self.server.config().limits.max_frame;
        self.pipes.insert(
            conn,
            Pipe {
                protocol,
                inbox: Vec::new(),
                framer: Framer::new(protocol.transport(), max),
                wire: Vec::new(),
                closed: false,
            },
        );
        self.pump();
        conn
    }

    /// Delivers `bytes` from the client to the server at the current instant.
    pub fn send(&mut self, conn: ConnId, bytes: &[u8]) {
        self.recorder.record(&Event::Input { conn, data: bytes.to_vec() }, self.now);
        self.server.handle_input(conn, bytes, self.now);
        self.pump();
    }

    /// Sends one message framed for the connection's transport.
    pub fn send_frame(&mut self, conn: ConnId, body: &[u8]) {
        let protocol = self.pipes.get(&conn).map(|p| p.protocol).unwrap_or(Protocol::Smb);
        let framed = crate::framing::encode_frame(protocol.transport(), body);
        self.send(conn, &framed);
    }

    /// The client goes away.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.recorder.record(&Event::Closed { conn }, self.now);
        self.server.handle_closed(conn, self.now);
        if let Some(p) = self.pipes.get_mut(&conn) {
            p.closed = true;
        }
        self.pump();
    }

    /// Moves the clock forward by `d`, firing every deadline that falls due
    /// on the way at its own instant, in order. Never sleeps.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(at) = self.server.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.fire();
        }
        self.now = target;
    }

    /// Moves the clock to `at` (no-op if it is in the past).
    pub fn advance_to(&mut self, at: Instant) {
        if at > self.now {
            self.advance(at - self.now);
        }
    }

    /// Fires what is due now and drains every output.
    pub fn run_until_idle(&mut self) {
        while self.server.poll_timeout().is_some_and(|at| at <= self.now) {
            self.fire();
        }
        self.pump();
    }

    fn fire(&mut self) {
        self.recorder.record(&Event::Timeout, self.now);
        self.server.handle_timeout(self.now);
        self.pump();
    }

    fn pump(&mut self) {
        while let Some(out) = self.server.poll_output() {
            let out = match out {
                // Storage answers at once here, recorded like any input.
                Output::Io(req) => {
                    let c = req.run();
                    self.recorder.record(&Event::IoDone { id: c.id().0 }, self.now);
                    self.server.handle_io(c, self.now);
                    continue;
                }
                out => out,
            };
            match &out {
                Output::Transmit { conn, data } => {
                    if let Some(p) = self.pipes.get_mut(conn) {
                        p.wire.extend_from_slice(data);
                        p.framer.push(data);
                        while let Ok(Some(frame)) = p.framer.next_frame() {
                            p.inbox.push(frame);
                        }
                    }
                }
                Output::Close { conn } => {
                    if let Some(p) = self.pipes.get_mut(conn) {
                        p.closed = true;
                    }
                }
                Output::Io(_) => {}
            }
            self.log.push((self.now, out));
        }
    }

    /// Frames the server sent on `conn` since the last call.
    pub fn recv(&mut self, conn: ConnId) -> Vec<Bytes> {
        self.pipes.get_mut(&conn).map(|p| std::mem::take(&mut p.inbox)).unwrap_or_default()
    }

    /// Exactly one frame must be waiting on `conn`; returns it.
    pub fn recv_one(&mut self, conn: ConnId) -> Bytes {
        let mut frames = self.recv(conn);
        assert_eq!(frames.len(), 1, "expected exactly one frame on {conn:?}, got {}", frames.len());
        frames.remove(0)
    }

    pub fn pipe(&self, conn: ConnId) -> Option<&Pipe> {
        self.pipes.get(&conn)
    }

    pub fn is_closed(&self, conn: ConnId) -> bool {
        self.pipes.get(&conn).is_none_or(|p| p.closed)
    }

    /// User timers that fired, with the instant each fired at.
    pub fn fired_user_timers(&self) -> Vec<(u64, Instant)> {
        self.server.fired_user_timers().to_vec()
    }

    /// The recording of every input so far (replayable with
    /// [`crate::record::Recording`]).
    pub fn recording(&mut self) -> Vec<u8> {
        let fresh = self.recorder.take();
        self.recorded.extend_from_slice(&fresh);
        self.recorded.clone()
    }
}
