//! The Sans-IO server: a connection table, input/timeout/output plumbing and
//! the state both protocols share (storage, the lease table, the deadline
//! table, the seeded generator).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::config::Config;
use crate::framing::{FrameError, Framer, Transport, encode_frame};
use crate::io::{IoCompletion, IoRequest, IoTable};
use crate::lease::LeaseTable;
use crate::rng::Rng;
use crate::stats::Stats;
use crate::time::{Clock, TimerKey, Timers, Timespec};
use crate::vfs::{Journaled, Vfs};
use crate::{nfs, smb};

/// A connection, named by the core. Ids are never reused within a Server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Smb,
    Nfs,
}

impl Protocol {
    pub fn transport(self) -> Transport {
        match self {
            Protocol::Smb => Transport::SmbDirectTcp,
            Protocol::Nfs => Transport::RpcRecordMarking,
        }
    }
}

/// What the core asks its adapter to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes (already framed) to the connection, in order.
    Transmit { conn: ConnId, data: Bytes },
    /// Flush what was queued for the connection, then close it. The core has
    /// forgotten it: later input for it is ignored.
    Close { conn: ConnId },
    /// A deadline set with [`Server::set_user_timer`] is due.
    UserTimer { key: u64 },
    /// Run this storage request off the event loop (or at once, where
    /// storage never blocks) and hand its completion to
    /// [`Server::handle_io`]. Every request must be completed once, also
    /// when its connection has closed meanwhile.
    Io(IoRequest),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    #[error("connection limit of {0} reached")]
    TooManyConnections(usize),
}

/// An operation parked until its lease breaks resolve: the connection it
/// belongs to and an id the protocol module gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WaitToken {
    pub conn: ConnId,
    pub op: u64,
}

/// What a protocol handler tells the server about its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The stream is unusable (unframeable, or a protocol violation that the
    /// protocol answers by disconnecting): close this connection only.
    Close,
}

/// State shared by every connection and both protocols.
#[derive(Debug)]
pub struct Core {
    pub config: Config,
    /// The storage, behind the change journal both protocols write through.
    pub vfs: Journaled,
    pub timers: Timers,
    pub rng: Rng,
    pub clock: Clock,
    pub leases: LeaseTable,
    pub stats: Stats,
    /// NFS state shared by all NFS connections (write verifier, COMMIT
    /// tracking, EXCLUSIVE-create verifiers, the MOUNT list).
    pub nfs: crate::nfs::NfsShared,
    /// SMB state shared by every SMB connection (ServerGuid, open names).
    pub smb: smb::SmbShared,
    out: VecDeque<Output>,
    /// Parked operations whose waits have resolved, to be resumed by the
    /// server before the current call returns.
    pub ready: VecDeque<WaitToken>,
    /// Connections a handler wants closed (for example one that never
    /// authenticated, or a peer of the connection being handled).
    pub close_requests: Vec<ConnId>,
    /// Storage requests: ordering, the in-flight bound, results waiting for
    /// their operation.
    pub(crate) io: IoTable,
}

impl Core {
    /// Queues a message for `conn`, framed for its transport.
    /// Break notifications already planned go out first (they precede the
    /// response of the operation that caused them).
    pub fn send(&mut self, conn: ConnId, protocol: Protocol, body: &[u8]) {
        smb::notify::flush(self);
        self.push_frame(conn, protocol, body);
    }

    /// Queues a message that is already framed (a reply built in place
    /// around its data), after the break notifications already planned.
    pub(crate) fn send_framed(&mut self, conn: ConnId, framed: Bytes) {
        smb::notify::flush(self);
        self.out.push_back(Output::Transmit { conn, data: framed });
    }

    /// Submits a storage request for the operation `token`; its completion
    /// resumes that operation.
    pub(crate) fn submit_io(&mut self, token: WaitToken, op: crate::io::IoOp) {
        let vfs = self.vfs.backend();
        self.io.submit(token, op, vfs);
    }

    /// Runs a storage operation at once on this thread (a data operation
    /// inside a compound, which must keep its place) and notes a write in
    /// the change journal, as a completion would.
    pub(crate) fn run_io_inline(&mut self, op: crate::io::IoOp) -> crate::io::IoResult {
        let object = op.object();
        let result = self.io.run_inline(op, self.vfs.backend());
        if let (crate::io::IoResult::Write(Ok(_)), Some(object)) = (&result, object) {
            self.vfs.note_write(object);
        }
        result
    }

    /// Queues a message for `conn` without flushing break notifications.
    pub(crate) fn push_frame(&mut self, conn: ConnId, protocol: Protocol, body: &[u8]) {
        self.out.push_back(Output::Transmit { conn, data: encode_frame(protocol.transport(), body) });
    }

    /// Wall-clock time at `now`.
    pub fn wall(&self, now: Instant) -> Timespec {
        self.clock.wall(now)
    }

    pub fn wake(&mut self, token: WaitToken) {
        self.ready.push_back(token);
    }
}

#[derive(Debug)]
enum ProtoConn {
    Smb(Box<smb::SmbConnection>),
    Nfs(Box<nfs::NfsConnection>),
}

#[derive(Debug)]
struct Connection {
    protocol: Protocol,
    framer: Framer,
    state: ProtoConn,
}

impl Connection {
    /// Hands one whole message to the connection's protocol.
    fn handle_frame(&mut self, core: &mut Core, frame: Bytes, now: Instant) -> Flow {
        match &mut self.state {
            ProtoConn::Smb(s) => smb::handle_frame(core, s, frame, now),
            ProtoConn::Nfs(s) => nfs::handle_frame(core, s, frame, now),
        }
    }
}

/// The server. Feed it connection events, bytes and instants; take its
/// outputs with [`Server::poll_output`] and sleep until
/// [`Server::poll_timeout`].
#[derive(Debug)]
pub struct Server {
    core: Core,
    conns: BTreeMap<ConnId, Connection>,
    next_conn: u64,
}

impl Server {
    /// `start` is the instant at which `config.wall_anchor` holds; `seed`
    /// drives every random value the server produces.
    pub fn new(config: Config, vfs: Box<dyn Vfs>, seed: u64, start: Instant) -> Self {
        let leases = LeaseTable::new(config.break_timeout);
        let clock = Clock::new(start, config.wall_anchor);
        let mut rng = Rng::from_seed(seed);
        let smb = smb::SmbShared::new(&mut rng);
        let io = IoTable::new(config.limits.max_io_in_flight, config.limits.io_buffer_pool);
        Self {
            core: Core {
                config,
                vfs: Journaled::new(vfs),
                timers: Timers::new(),
                rng,
                clock,
                leases,
                stats: Stats::default(),
                nfs: crate::nfs::NfsShared::default(),
                smb,
                out: VecDeque::new(),
                ready: VecDeque::new(),
                close_requests: Vec::new(),
                io,
            },
            conns: BTreeMap::new(),
            next_conn: 1,
        }
    }

    pub fn config(&self) -> &Config {
        &self.core.config
    }

    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    pub fn vfs(&self) -> &dyn Vfs {
        &self.core.vfs
    }

    pub fn vfs_mut(&mut self) -> &mut dyn Vfs {
        &mut self.core.vfs
    }

    /// The shared state, for tests that check invariants.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The Vfs object an SMB open on `conn` refers to and its open in the
    /// lease table (tests keep content models by object, whatever names it
    /// is reached by).
    pub fn smb_open(
        &self,
        conn: ConnId,
        file_id: crate::smb::wire::codec::FileId,
    ) -> Option<(crate::vfs::ObjectId, crate::lease::OpenId)> {
        let ProtoConn::Smb(s) = &self.conns.get(&conn)?.state else { return None };
        s.sessions
            .values()
            .flat_map(|x| x.opens.values())
            .find(|o| o.file_id == file_id)
            .map(|o| (o.object, o.lease_open))
    }

    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// A new connection from `peer` speaking `protocol`.
    pub fn accept(&mut self, protocol: Protocol, peer: SocketAddr, now: Instant) -> Result<ConnId, AcceptError> {
        let max = self.core.config.limits.max_connections;
        if self.conns.len() >= max {
            return Err(AcceptError::TooManyConnections(max));
        }
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        let framer = Framer::new(protocol.transport(), self.core.config.limits.max_frame);
        let state = match protocol {
            Protocol::Smb => ProtoConn::Smb(Box::new(smb::SmbConnection::new(&mut self.core, id, peer, now))),
            Protocol::Nfs => ProtoConn::Nfs(Box::new(nfs::NfsConnection::new(&mut self.core, id, peer, now))),
        };
        self.conns.insert(id, Connection { protocol, framer, state });
        tracing::debug!(conn = id.0, ?protocol, %peer, "accepted");
        Ok(id)
    }

    /// One whole message received on `conn`, already delimited by the caller
    /// (an SMB2 message without its Direct-TCP header, or a whole RPC record
    /// without its record marks). The message is not copied: WRITE data
    /// reaches storage as a slice of it.
    pub fn handle_frame(&mut self, conn: ConnId, frame: Bytes, now: Instant) {
        let flow = match self.conns.get_mut(&conn) {
            Some(c) => c.handle_frame(&mut self.core, frame, now),
            None => Flow::Continue,
        };
        if flow == Flow::Close {
            self.close(conn, now);
        }
        self.settle(now);
    }

    /// The adapter, framing `conn`'s input itself (see
    /// [`Server::handle_frame`]), found it unframeable: the core closes the
    /// connection as it closes one whose bytes it framed itself (the
    /// adapter logs why).
    pub fn handle_unframeable(&mut self, conn: ConnId, now: Instant) {
        self.close(conn, now);
        self.settle(now);
    }

    /// Bytes received on `conn`, in any chunking.
    pub fn handle_input(&mut self, conn: ConnId, data: &[u8], now: Instant) {
        let mut close = None;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.framer.push(data);
            loop {
                match c.framer.next_frame() {
                    Ok(Some(frame)) => {
                        if c.handle_frame(&mut self.core, frame, now) == Flow::Close {
                            close = Some(conn);
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        log_frame_error(conn, &e);
                        close = Some(conn);
                        break;
                    }
                }
            }
        }
        if let Some(conn) = close {
            self.close(conn, now);
        }
        self.settle(now);
    }

    /// The peer went away.
    pub fn handle_closed(&mut self, conn: ConnId, now: Instant) {
        if let Some(c) = self.conns.remove(&conn) {
            self.teardown(conn, c, now);
        }
        self.settle(now);
    }

    /// Fires every deadline due at `now`. Idempotent; spurious calls are
    /// harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(key) = self.core.timers.pop_due(now) {
            match key {
                TimerKey::Break(id) => crate::lease::on_break_timeout(&mut self.core, id, now),
                TimerKey::Unauthenticated(conn) => {
                    tracing::info!(conn = conn.0, "closing connection that did not authenticate in time");
                    self.close(conn, now);
                }
                TimerKey::User(key) => self.core.out.push_back(Output::UserTimer { key }),
            }
            self.settle(now);
        }
    }

    /// A storage request handed out as [`Output::Io`] has run. The operation
    /// that waited for it resumes (its reply is queued now); completions of
    /// requests whose connection closed meanwhile are dropped.
    pub fn handle_io(&mut self, completion: IoCompletion, now: Instant) {
        if let Some((token, object, wrote)) = self.core.io.complete(completion) {
            if let (true, Some(object)) = (wrote, object) {
                self.core.vfs.note_write(object);
            }
            self.core.ready.push_back(token);
            let lifted = self.core.io.take_lifted();
            self.core.ready.extend(lifted);
        }
        self.settle(now);
    }

    /// Storage requests issued and not yet completed, or waiting their turn.
    pub fn io_outstanding(&self) -> usize {
        self.core.io.outstanding()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.core.out.pop_front()
    }

    /// [`Server::poll_output`] for tests that do not care when storage
    /// answers: storage requests are run at once, on this thread, and their
    /// completions handed back at `now`; every other output is returned.
    #[cfg(any(test, feature = "sim"))]
    pub fn poll_output_io_inline(&mut self, now: Instant) -> Option<Output> {
        loop {
            match self.core.out.pop_front()? {
                Output::Io(req) => self.handle_io(req.run(), now),
                other => return Some(other),
            }
        }
    }

    /// The earliest instant at which [`Server::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.timers.next()
    }

    /// A deadline owned by the embedder; `Output::UserTimer` reports it.
    pub fn set_user_timer(&mut self, key: u64, at: Instant) {
        self.core.timers.set(TimerKey::User(key), at);
    }

    /// The core closes `conn` itself: its state is torn down and the adapter
    /// told to close it.
    fn close(&mut self, conn: ConnId, now: Instant) {
        if let Some(c) = self.conns.remove(&conn) {
            self.teardown(conn, c, now);
            self.core.out.push_back(Output::Close { conn });
        }
    }

    fn teardown(&mut self, conn: ConnId, mut c: Connection, now: Instant) {
        tracing::debug!(conn = conn.0, protocol = ?c.protocol, "connection gone");
        self.core.timers.cancel(TimerKey::Unauthenticated(conn));
        match &mut c.state {
            ProtoConn::Smb(s) => smb::handle_closed(&mut self.core, s, now),
            ProtoConn::Nfs(s) => nfs::handle_closed(&mut self.core, s, now),
        }
        // Whatever the protocol left behind: opens on the connection close
        // (releasing operations waiting on their caching) and its parked
        // operations are forgotten.
        self.core.leases.close_conn(conn, &mut self.core.timers, now);
        self.core.io.cancel_conn(conn);
    }

    /// Resumes parked operations whose waits resolved and closes what
    /// handlers asked to close, until nothing more is pending.
    fn settle(&mut self, now: Instant) {
        loop {
            // Breaks resolved by acks and closes release parked operations;
            // tree changes wake the CHANGE_NOTIFY requests they concern.
            crate::lease::flush_wakeups(&mut self.core);
            smb::change_notify::deliver(&mut self.core);
            if let Some(token) = self.core.ready.pop_front() {
                let Some(c) = self.conns.get_mut(&token.conn) else {
                    // Its connection is gone: a storage result nobody waits for.
                    self.core.io.take_result(token);
                    continue;
                };
                let flow = match &mut c.state {
                    ProtoConn::Smb(s) => smb::resume(&mut self.core, s, token.op, now),
                    ProtoConn::Nfs(s) => nfs::resume(&mut self.core, s, token.op, now),
                };
                if flow == Flow::Close {
                    self.close(token.conn, now);
                }
                continue;
            }
            let cleanups = smb::change_notify::take_cleanups(&mut self.core);
            if !cleanups.is_empty() {
                for (t, status) in cleanups {
                    if let Some(ProtoConn::Smb(s)) = self.conns.get_mut(&t.conn).map(|c| &mut c.state) {
                        smb::complete(&mut self.core, s, t.op, status);
                    }
                }
                continue;
            }
            if let Some(conn) = self.core.close_requests.pop() {
                self.close(conn, now);
                continue;
            }
            break;
        }
        // Breaks caused by timeouts, acks, NFS calls and disconnects.
        smb::notify::flush(&mut self.core);
        for req in self.core.io.issue() {
            self.core.out.push_back(Output::Io(req));
        }
    }
}

fn log_frame_error(conn: ConnId, e: &FrameError) {
    tracing::info!(conn = conn.0, error = %e, "closing unframeable connection");
}
