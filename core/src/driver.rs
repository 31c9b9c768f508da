//! The runtime adapters' door into the core. An adapter builds a [`Driver`]
//! from a [`Setup`] once its listeners are bound, then makes every call into
//! the core through it: each accept, input, close and timeout is recorded (if
//! recording is on) at the very call with the very `now` the core sees, so
//! [`crate::record::Recording::replay`] reproduces the output byte for byte.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};

use crate::config::{Config, Reconfigure};
use crate::id::{ConnId, Protocol};
use crate::io::IoCompletion;
use crate::output::Output;
use crate::rng::Seed;
use crate::record::{Event, Recorder};
use crate::server::{AcceptError, Server};
use crate::vfs::Vfs;

/// What the embedding program decides: configuration, storage and
/// optionally a fixed seed (for tests and reproducible runs only).
#[derive(Debug)]
pub struct Setup {
    /// The server's configuration.
    pub config: Config,
    /// The storage it serves.
    pub vfs: Box<dyn Vfs>,
    /// A fixed seed; `None` (what a server for real clients uses) keys the
    /// server with [`Start::entropy`].
    pub seed: Option<Seed>,
}

/// What only the adapter knows when it starts the server.
#[derive(Clone, Copy)]
pub struct Start {
    /// The port the NFS listener is bound to, if any; portmapper GETPORT
    /// answers it.
    pub nfs_port: Option<u16>,
    /// 32 bytes of OS entropy: the server's [`Seed::Entropy`] unless
    /// [`Setup::seed`] fixes one. Never logged.
    pub entropy: [u8; 32],
    /// The OS wall clock, read together with `now`.
    pub wall: SystemTime,
    /// The instant at which `wall` was read.
    pub now: Instant,
    /// Record every input event (see [`crate::record`]).
    pub record: bool,
}

impl std::fmt::Debug for Start {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Start")
            .field("nfs_port", &self.nfs_port)
            .field("entropy", &"<redacted>")
            .field("wall", &self.wall)
            .field("now", &self.now)
            .field("record", &self.record)
            .finish()
    }
}

impl Setup {
    /// A setup keyed with the entropy given at start.
    pub fn new(config: Config, vfs: Box<dyn Vfs>) -> Self {
        Self { config, vfs, seed: None }
    }

    /// Builds the server: the wall anchor is `start.wall` at `start.now`;
    /// the seed (fixed or the entropy) goes into the recording, if any, so
    /// that a replay draws the same values.
    pub fn start(self, start: Start) -> Driver {
        let mut config = self.config;
        config.wall_anchor = start.wall;
        if let Some(port) = start.nfs_port {
            config.nfs.port = port;
        }
        let seed = self.seed.unwrap_or(Seed::Entropy(start.entropy));
        let recorder = start.record.then(|| Recorder::new(seed, start.wall, start.now));
        Driver { server: Server::with_seed(config, self.vfs, seed, start.now), recorder }
    }
}

/// A [`Server`] and its optional [`Recorder`]: the same `handle_*` and
/// `poll_*` verbs as the server, each input recorded first.
#[derive(Debug)]
pub struct Driver {
    server: Server,
    recorder: Option<Recorder>,
}

impl Driver {
    /// Drives `server`, recording into `recorder` (which must have been
    /// made with the server's seed for a replay to match).
    pub fn new(server: Server, recorder: Option<Recorder>) -> Self {
        Self { server, recorder }
    }

    /// [`Server::accept`].
    pub fn accept(&mut self, protocol: Protocol, peer: SocketAddr, now: Instant) -> Result<ConnId, AcceptError> {
        // A refused accept changes nothing in the core: nothing to record.
        let conn = self.server.accept(protocol, peer, now)?;
        if let Some(r) = &mut self.recorder {
            r.record(&Event::Accept { conn, protocol, peer }, now);
        }
        Ok(conn)
    }

    /// [`Server::handle_input`].
    pub fn handle_input(&mut self, conn: ConnId, data: &[u8], now: Instant) {
        if let Some(r) = &mut self.recorder {
            r.record_input(conn, data, now);
        }
        self.server.handle_input(conn, data, now);
    }

    /// [`Server::handle_frame`].
    pub fn handle_frame(&mut self, conn: ConnId, frame: Bytes, now: Instant) {
        self.handle_frame_received(conn, frame, now, now);
    }

    /// [`Server::handle_frame_received`]. The receipt instant only feeds
    /// the latency counters, so a recording keeps `now` alone.
    pub fn handle_frame_received(&mut self, conn: ConnId, frame: Bytes, received: Instant, now: Instant) {
        if let (Some(r), Some(protocol)) = (&mut self.recorder, self.server.protocol_of(conn)) {
            r.record_frame(conn, protocol.transport(), &frame, now);
        }
        self.server.handle_frame_received(conn, frame, received, now);
    }

    /// [`Server::handle_spliced_frame`]. A recording keeps whole messages:
    /// while one is made, the data is read out of its pipes and the message
    /// handled as [`Driver::handle_frame_received`] would handle it.
    pub fn handle_spliced_frame(
        &mut self,
        conn: ConnId,
        head: Bytes,
        data: crate::splice::PipedData,
        received: Instant,
        now: Instant,
    ) {
        if self.recorder.is_none() {
            return self.server.handle_spliced_frame(conn, head, data, received, now);
        }
        let Some(bytes) = data.to_vec() else {
            return self.handle_unframeable(conn, now);
        };
        let mut frame = Vec::with_capacity(head.len() + bytes.len() + 3);
        frame.extend_from_slice(&head);
        frame.extend_from_slice(&bytes);
        // XDR pads opaque data to four bytes (RFC 4506 4.10).
        if self.server.protocol_of(conn) == Some(crate::Protocol::Nfs) {
            frame.resize(frame.len().next_multiple_of(4), 0);
        }
        self.handle_frame_received(conn, frame.into(), received, now);
    }

    /// [`Server::handle_unframeable`].
    pub fn handle_unframeable(&mut self, conn: ConnId, now: Instant) {
        if let Some(r) = &mut self.recorder {
            r.record(&Event::Unframeable { conn }, now);
        }
        self.server.handle_unframeable(conn, now);
    }

    /// [`Server::handle_closed`].
    pub fn handle_closed(&mut self, conn: ConnId, now: Instant) {
        if let Some(r) = &mut self.recorder {
            r.record(&Event::Closed { conn }, now);
        }
        self.server.handle_closed(conn, now);
    }

    /// [`Server::handle_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(r) = &mut self.recorder {
            r.record(&Event::Timeout, now);
        }
        self.server.handle_timeout(now);
    }

    /// [`Server::handle_io`].
    pub fn handle_io(&mut self, completion: IoCompletion, now: Instant) {
        if let Some(r) = &mut self.recorder {
            r.record(&Event::IoDone { id: completion.id().0 }, now);
        }
        self.server.handle_io(completion, now);
    }

    /// [`Server::handle_reconfigure`].
    pub fn handle_reconfigure(&mut self, new: Reconfigure, now: Instant) {
        if let Some(r) = &mut self.recorder {
            r.record(&Event::Reconfigure(new.clone()), now);
        }
        self.server.handle_reconfigure(new, now);
    }

    /// [`Server::poll_output`].
    pub fn poll_output(&mut self) -> Option<Output> {
        self.server.poll_output()
    }

    /// [`Server::poll_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.server.poll_timeout()
    }

    /// The server driven.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Recorded bytes not yet written out; `None` when not recording.
    pub fn take_recording(&mut self) -> Option<BytesMut> {
        self.recorder.as_mut().map(Recorder::take)
    }

    /// Bytes recorded and not yet taken.
    pub fn recording_pending(&self) -> usize {
        self.recorder.as_ref().map_or(0, Recorder::pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Recording;
    use crate::vfs::MemoryFs;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn driver_records_what_it_feeds_and_replays_identically() {
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let start = Start { nfs_port: Some(20490), entropy: [7; 32], wall, now: t0, record: true };
        let setup = Setup { seed: Some(Seed::Fixed(4_242_424_242)), ..Setup::new(Config::default(), Box::new(MemoryFs::new())) };
        // Debug output (what a log line would show) names neither.
        let shown = format!("{start:?} {setup:?}");
        assert!(!shown.contains("7, 7") && !shown.contains("4242424242"), "{shown}");
        let mut d = Setup::new(Config::default(), Box::new(MemoryFs::default())).start(start);
        assert_eq!(d.server().config().nfs.port, 20490);
        assert_eq!(d.server().config().wall_anchor, wall);
        let peer = "127.0.0.1:1000".parse().unwrap();
        let c = d.accept(Protocol::Nfs, peer, t0 + Duration::from_millis(1)).unwrap();
        d.handle_input(c, &[0x80, 0, 0, 4, 1, 2], t0 + Duration::from_millis(2));
        d.handle_input(c, &[3, 4], t0 + Duration::from_millis(3));
        d.handle_timeout(t0 + Duration::from_millis(4));
        let live: Vec<_> = std::iter::from_fn(|| d.poll_output()).collect();
        let rec = Recording::decode(&d.take_recording().unwrap()).unwrap();
        assert_eq!((rec.seed, rec.wall_anchor, rec.events.len()), (Seed::Entropy([7; 32]), wall, 4));
        let t1 = t0 + Duration::from_secs(100);
        let mut config = Config::default();
        config.nfs.port = 20490;
        let mut fresh = rec.server(config, Box::new(MemoryFs::default()), t1);
        assert_eq!(rec.replay(&mut fresh, t1), live);
    }

    /// A WRITE whose data came in pipes is recorded as the whole message
    /// (data and XDR padding included): the replay, which feeds whole
    /// messages, answers as the live server did, and so does a server
    /// handed the whole message in the first place.
    #[test]
    fn a_spliced_write_is_recorded_whole() {
        use crate::nfs::nfs3::args::{Nfs3Args, StableHow};
        use crate::nfs::nfs3::fh::FhBytes;
        use crate::nfs::rpc::{self, AuthSys, Credentials};
        let t0 = Instant::now();
        let start = Start { nfs_port: None, entropy: [3; 32], wall: UNIX_EPOCH, now: t0, record: true };
        let mut d = Setup::new(Config::default(), Box::new(MemoryFs::default())).start(start);
        let c = d.accept(Protocol::Nfs, "127.0.0.1:700".parse().unwrap(), t0).unwrap();
        let data: Vec<u8> = (0..70_001u32).map(|i| i as u8).collect();
        let args =
            Nfs3Args::Write { fh: FhBytes(vec![1; 32]), offset: 0, count: 70_001, stable: StableHow::FileSync, data: data.clone().into() };
        let cred = Credentials::Sys(AuthSys { stamp: 1, machinename: b"c".to_vec(), uid: 0, gid: 0, gids: vec![] });
        let mut w = crate::nfs::xdr::XdrWriter::new();
        rpc::encode_call(&mut w, 5, crate::nfs::PROG_NFS, 3, 7, &cred);
        args.encode(&mut w);
        let whole = w.into_vec();
        let head = whole.len() - data.len() - 3;
        let mut inflow = crate::splice::PipePool::new().inflow(data.len()).unwrap();
        inflow.put(&data).unwrap();
        let piped = crate::splice::PipedData::new(inflow.finish());
        d.handle_spliced_frame(c, Bytes::copy_from_slice(&whole[..head]), piped, t0, t0);
        let live: Vec<_> = std::iter::from_fn(|| d.poll_output()).collect();
        assert_eq!(live.len(), 1, "answered: {live:?}");
        let rec = Recording::decode(&d.take_recording().unwrap()).unwrap();
        let mut fresh = rec.server(Config::default(), Box::new(MemoryFs::default()), t0);
        assert_eq!(rec.replay(&mut fresh, t0), live);
        let mut direct = Setup::new(Config::default(), Box::new(MemoryFs::default())).start(Start { record: false, ..start });
        let c = direct.accept(Protocol::Nfs, "127.0.0.1:700".parse().unwrap(), t0).unwrap();
        direct.handle_frame(c, whole.into(), t0);
        assert_eq!(std::iter::from_fn(|| direct.poll_output()).collect::<Vec<_>>(), live);
    }
}
