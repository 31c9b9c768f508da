//! The Sans-IO server: the connection table, the `handle_*`/`poll_*` verbs
//! and the settle loop that, after every input, drains the lease table's
//! events, resumes parked operations, encodes break notifications in their
//! place and issues storage requests. The common state sits in
//! [`Core`](crate::common::Core); each protocol's shared state beside it.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::common::{Core, Flow, Slot};
use crate::config::{Config, Reconfigure};
use crate::framing::{FrameError, Framer, encode_frame};
use crate::id::{ConnId, Protocol, WaitToken};
use crate::io::IoCompletion;
use crate::lease::{BreakNotification, LeaseEvent};
use crate::output::Output;
use crate::rng::{Rng, Seed};
use crate::splice::PipedData;
use crate::stats::Stats;
use crate::time::{Clock, TimerKey};
use crate::vfs::{Journaled, Vfs};
use crate::{nfs, smb};

/// Why [`Server::accept`] refused a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// `Limits::max_connections` connections (both protocols together) are
    /// open already.
    #[error("connection limit of {0} reached")]
    TooManyConnections(usize),
    /// The protocol's own cap (`Limits::max_smb_connections` or
    /// `Limits::max_nfs_connections`) is reached.
    #[error("{protocol:?} connection limit of {max} reached")]
    ProtocolLimit {
        /// The protocol of the refused connection.
        protocol: Protocol,
        /// Its cap.
        max: usize,
    },
}

#[derive(Debug)]
enum ProtoConn {
    Smb(Box<smb::SmbConnection>),
    Nfs(Box<nfs::NfsConnection>),
}

/// Each protocol's state shared by all of its connections, kept beside the
/// common core and handed to the protocol with it.
#[derive(Debug)]
struct Shared {
    smb: smb::SmbShared,
    nfs: nfs::NfsShared,
}

#[derive(Debug)]
struct Connection {
    protocol: Protocol,
    framer: Framer,
    state: ProtoConn,
}

impl Connection {
    /// Hands one whole message to the connection's protocol.
    fn handle_frame(&mut self, core: &mut Core, shared: &mut Shared, frame: Bytes, now: Instant) -> Flow {
        core.stats.bytes_received[slot(self.protocol)] += frame.len() as u64;
        match &mut self.state {
            ProtoConn::Smb(s) => smb::handle_frame(core, &mut shared.smb, s, frame, now),
            ProtoConn::Nfs(s) => nfs::handle_frame(core, &mut shared.nfs, s, frame, now),
        }
    }
}

impl Connection {
    /// Hands one WRITE whose data the adapter received into pipes to the
    /// connection's protocol: `head` is the message up to the data.
    fn handle_spliced(
        &mut self,
        core: &mut Core,
        shared: &mut Shared,
        head: Bytes,
        data: PipedData,
        now: Instant,
    ) -> Flow {
        core.stats.bytes_received[slot(self.protocol)] += (head.len() + data.len()) as u64;
        match &mut self.state {
            ProtoConn::Smb(s) => smb::handle_spliced_frame(core, &mut shared.smb, s, head, data, now),
            ProtoConn::Nfs(s) => nfs::handle_frame_with(core, &mut shared.nfs, s, head, Some(data), now),
        }
    }
}

/// The server. Feed it connection events, bytes and instants; take its
/// outputs with [`Server::poll_output`] and sleep until
/// [`Server::poll_timeout`].
#[derive(Debug)]
pub struct Server {
    core: Core,
    shared: Shared,
    conns: BTreeMap<ConnId, Connection>,
    /// Open connections per protocol (SMB, NFS), for their separate caps.
    open: [usize; 2],
    next_conn: u64,
    /// Outputs ready for the adapter, in order.
    out: VecDeque<Output>,
    /// Break notifications taken from the lease table, waiting for their
    /// place in `out`.
    breaks: VecDeque<(u64, BreakNotification)>,
    /// Test deadlines that fired (only tests set them).
    test_timers_fired: Vec<(u64, Instant)>,
}

impl Server {
    /// A server whose random values derive from the fixed number `seed`:
    /// for tests and reproducible runs (they are predictable; a server for
    /// real clients is built with [`Server::with_seed`] and
    /// [`Seed::Entropy`], as [`Setup::start`](crate::Setup::start) does).
    /// `start` is the instant at which `config.wall_anchor` holds.
    pub fn new(config: Config, vfs: Box<dyn Vfs>, seed: u64, start: Instant) -> Self {
        Self::with_seed(config, vfs, Seed::Fixed(seed), start)
    }

    /// A server whose random values (challenges, SessionIds, ServerGuid,
    /// salts, write verifiers) all derive from `seed`; `start` is the
    /// instant at which `config.wall_anchor` holds.
    pub fn with_seed(config: Config, vfs: Box<dyn Vfs>, seed: Seed, start: Instant) -> Self {
        let clock = Clock::new(start, config.wall_anchor);
        let mut rng = Rng::new(seed);
        let smb = smb::SmbShared::new(&mut rng);
        Self {
            core: Core::new(config, Journaled::new(vfs), rng, clock),
            shared: Shared { smb, nfs: nfs::NfsShared::default() },
            conns: BTreeMap::new(),
            open: [0; 2],
            next_conn: 1,
            out: VecDeque::new(),
            breaks: VecDeque::new(),
            test_timers_fired: Vec::new(),
        }
    }

    /// The configuration the server was built with.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// Counters since the server started.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// The pipes the server splices READ data through, for the adapter to
    /// receive large WRITEs into ([`Server::handle_spliced_frame`]): one
    /// pool, so one bound on the descriptors both hold.
    pub fn pipe_pool(&self) -> std::sync::Arc<crate::splice::PipePool> {
        self.core.io.pipes()
    }

    /// The storage the server serves (behind its change journal).
    pub fn vfs(&self) -> &dyn Vfs {
        &self.core.vfs
    }

    /// The shared state, for tests that check invariants.
    #[cfg(any(test, feature = "sim"))]
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// SMB's shared state, for tests that check it.
    #[cfg(any(test, feature = "sim"))]
    pub fn smb_shared(&self) -> &smb::SmbShared {
        &self.shared.smb
    }

    /// NFS's shared state, for tests that check it.
    #[cfg(any(test, feature = "sim"))]
    pub fn nfs_shared(&self) -> &nfs::NfsShared {
        &self.shared.nfs
    }

    /// The Vfs object an SMB open on `conn` refers to and its open in the
    /// lease table (tests keep content models by object, whatever names it
    /// is reached by).
    #[cfg(any(test, feature = "sim"))]
    pub fn smb_open(
        &self,
        conn: ConnId,
        file_id: crate::smb::wire::codec::FileId,
    ) -> Option<(crate::vfs::ObjectId, crate::lease::OpenId)> {
        let ProtoConn::Smb(_) = &self.conns.get(&conn)?.state else { return None };
        self.shared
            .smb
            .sessions
            .values()
            .filter(|x| x.on(conn))
            .flat_map(|x| x.opens.values())
            .find(|o| o.file_id == file_id)
            .map(|o| (o.object, o.lease_open))
    }

    /// The protocol `conn` speaks, while it is open.
    pub(crate) fn protocol_of(&self, conn: ConnId) -> Option<Protocol> {
        self.conns.get(&conn).map(|c| c.protocol)
    }

    /// Connections open now.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// A new connection from `peer` speaking `protocol`.
    /// Refused past the protocol's own cap or the overall one (see
    /// [`Limits`](crate::config::Limits)).
    pub fn accept(&mut self, protocol: Protocol, peer: SocketAddr, now: Instant) -> Result<ConnId, AcceptError> {
        let limits = &self.core.config.limits;
        let max = match protocol {
            Protocol::Smb => limits.max_smb_connections,
            Protocol::Nfs => limits.max_nfs_connections,
        };
        if self.open[slot(protocol)] >= max {
            return Err(AcceptError::ProtocolLimit { protocol, max });
        }
        let total = limits.max_connections;
        if self.conns.len() >= total {
            return Err(AcceptError::TooManyConnections(total));
        }
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        let framer = Framer::new(protocol.transport(), self.core.config.limits.max_frame);
        let state = match protocol {
            Protocol::Smb => {
                ProtoConn::Smb(Box::new(smb::SmbConnection::new(&mut self.core, &mut self.shared.smb, id, peer, now)))
            }
            Protocol::Nfs => ProtoConn::Nfs(Box::new(nfs::NfsConnection::new(&mut self.core, id, peer, now))),
        };
        self.conns.insert(id, Connection { protocol, framer, state });
        self.open[slot(protocol)] += 1;
        self.core.stats.connections_accepted[slot(protocol)] += 1;
        tracing::debug!(conn = id.0, ?protocol, %peer, "accepted");
        Ok(id)
    }

    /// One whole message received on `conn`, already delimited by the caller
    /// (an SMB2 message without its Direct-TCP header, or a whole RPC record
    /// without its record marks). The message is not copied: WRITE data
    /// reaches storage as a slice of it.
    pub fn handle_frame(&mut self, conn: ConnId, frame: Bytes, now: Instant) {
        self.handle_frame_received(conn, frame, now, now);
    }

    /// [`Server::handle_frame`] for a message the adapter read off the
    /// socket at `received` (before `now`, the adapter having queued it):
    /// the request latencies in [`Server::stats`] then count that wait too.
    pub fn handle_frame_received(&mut self, conn: ConnId, frame: Bytes, received: Instant, now: Instant) {
        self.core.times.turn(now);
        self.core.times.received_at(received);
        let flow = match self.conns.get_mut(&conn) {
            Some(c) => c.handle_frame(&mut self.core, &mut self.shared, frame, now),
            None => Flow::Continue,
        };
        if flow == Flow::Close {
            self.close(conn, now);
        }
        self.settle(now);
    }

    /// A large lone WRITE received on `conn` whose data the adapter spliced
    /// from the socket into pipes ([`crate::framing::Framer::splice_plan`],
    /// [`crate::splice::Inflow`]) instead of reading it: `head` is the
    /// message up to where its data begins (without the Direct-TCP header
    /// or record mark), `data` the data (the XDR padding after it dropped).
    /// Handled as [`Server::handle_frame_received`] would handle the whole
    /// message; the data reaches storage in its pipes
    /// ([`crate::vfs::Vfs::write_spliced`]).
    pub fn handle_spliced_frame(&mut self, conn: ConnId, head: Bytes, data: PipedData, received: Instant, now: Instant) {
        self.core.times.turn(now);
        self.core.times.received_at(received);
        let flow = match self.conns.get_mut(&conn) {
            Some(c) => c.handle_spliced(&mut self.core, &mut self.shared, head, data, now),
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
        self.core.times.turn(now);
        self.close(conn, now);
        self.settle(now);
    }

    /// Bytes received on `conn`, in any chunking.
    pub fn handle_input(&mut self, conn: ConnId, data: &[u8], now: Instant) {
        self.core.times.turn(now);
        let mut close = None;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.framer.push(data);
            loop {
                match c.framer.next_frame() {
                    Ok(Some(frame)) => {
                        if c.handle_frame(&mut self.core, &mut self.shared, frame, now) == Flow::Close {
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
        self.core.times.turn(now);
        if let Some(c) = self.conns.remove(&conn) {
            self.teardown(conn, c, now);
        }
        self.settle(now);
    }

    /// Fires every deadline due at `now`: lease breaks that went
    /// unanswered, connections that did not authenticate in time, idle NFS
    /// connections, SMB's delayed last-write time updates, embedder timers. Idempotent; spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.times.turn(now);
        self.core.leases.handle_timeout(now);
        while let Some(key) = self.core.timers.pop_due(now) {
            match key {
                TimerKey::Unauthenticated(conn) => {
                    tracing::info!(conn = conn.0, "closing connection that did not authenticate in time");
                    self.close(conn, now);
                }
                TimerKey::NfsIdle(conn) => {
                    let flow = match self.conns.get_mut(&conn).map(|c| &mut c.state) {
                        Some(ProtoConn::Nfs(s)) => nfs::idle_expired(&mut self.core, s, now),
                        _ => Flow::Continue,
                    };
                    if flow == Flow::Close {
                        self.close(conn, now);
                    }
                }
                TimerKey::WriteTime(volatile) => smb::write_time::update(&mut self.core, &mut self.shared.smb, volatile, now),
                TimerKey::User(key) => self.test_timers_fired.push((key, now)),
            }
        }
        self.settle(now);
    }

    /// A storage request handed out as [`Output::Io`] has run. The operation
    /// that waited for it resumes (its reply is queued now); completions of
    /// requests whose connection closed meanwhile are dropped.
    pub fn handle_io(&mut self, completion: IoCompletion, now: Instant) {
        self.core.times.turn(now);
        let sent = completion.sent_by_adapter();
        if let Some((token, object, wrote)) = self.core.io.complete(completion) {
            // A reply the adapter sent from the worker counts as sent.
            if let (Some(n), Some(c)) = (sent, self.conns.get(&token.conn)) {
                self.core.stats.bytes_sent[slot(c.protocol)] += n as u64;
            }
            if let (true, Some(object)) = (wrote, object) {
                self.core.vfs.note_write(object);
            }
            self.core.wake(token);
            let lifted = self.core.io.take_lifted();
            self.core.ready.extend(lifted);
        }
        self.settle(now);
    }

    /// An administrator's reload: new shares, exports and accounts (see
    /// [`Reconfigure`] for what goes on and what ends). Connections stay;
    /// the rest of the configuration is unchanged. Exports keep their index
    /// (file handles carry it): a removed export's slot is retired, and a
    /// new export takes a retired slot under the slot's next epoch (handles
    /// carry it too, so the removed export's handles stay stale), else a new
    /// slot, up to 256 exports at once; past it the further new exports are
    /// left out (logged).
    pub fn handle_reconfigure(&mut self, new: Reconfigure, now: Instant) {
        self.core.times.turn(now);
        let old = std::mem::take(&mut self.core.config.smb.shares);
        let share_map: Vec<Option<usize>> = old
            .iter()
            .map(|o| {
                new.shares.iter().position(|n| n.name.eq_ignore_ascii_case(&o.name) && n.path == o.path)
            })
            .collect();
        smb::reconfigure::apply(&mut self.core, &mut self.shared.smb, &share_map, &new.shares, &new.users, now);
        self.core.config.smb.shares = new.shares;
        self.core.config.smb.users = new.users;

        let exports = &mut self.core.config.nfs.exports;
        let mut fresh: Vec<Option<crate::config::Export>> = new.exports.into_iter().map(Some).collect();
        for (i, slot) in exports.iter_mut().enumerate() {
            if self.core.retired_exports.contains(&i) {
                continue;
            }
            match fresh.iter_mut().find(|e| e.as_ref().is_some_and(|e| e.name == slot.name)).and_then(Option::take) {
                Some(e) => *slot = e,
                None => {
                    tracing::info!(export = %slot.name, "export removed: its handles are stale");
                    self.core.retired_exports.insert(i);
                }
            }
        }
        for e in fresh.into_iter().flatten() {
            // A removed export's slot is reused under a new epoch, so that
            // its old handles stay stale (nfs/nfs3/fh.rs).
            if let Some(&i) = self.core.retired_exports.first() {
                self.core.retired_exports.remove(&i);
                let epoch = self.core.export_epochs.entry(i).or_insert(0);
                *epoch = epoch.wrapping_add(1);
                exports[i] = e;
                continue;
            }
            // Handles hold the export index in one byte.
            if exports.len() >= 256 {
                tracing::warn!(export = %e.name, "no export index left: export not added");
                continue;
            }
            exports.push(e);
        }
        self.settle(now);
    }

    /// What the server holds now, for its administrator: SMB sessions with
    /// their trees and opens, NFS clients, parked NFS calls and what each
    /// waits for. Reads only: not an input, not recorded.
    pub fn snapshot(&self) -> crate::snapshot::Snapshot {
        let mut snap = crate::snapshot::Snapshot::default();
        for c in self.conns.values() {
            match &c.state {
                ProtoConn::Smb(s) => snap.sessions.extend(smb::snapshot::sessions(&self.core, &self.shared.smb, s)),
                ProtoConn::Nfs(n) => {
                    let (client, parked) = nfs::snapshot::views(&self.core, n);
                    snap.nfs_clients.push(client);
                    snap.parked.extend(parked);
                }
            }
        }
        snap
    }

    /// Connections open now, SMB then NFS.
    pub fn connections_open(&self) -> [usize; 2] {
        self.open
    }

    /// Operations parked now behind lease breaks (SMB and NFS).
    pub fn parked_now(&self) -> usize {
        self.core.leases.parked()
    }

    /// Storage requests issued and not yet completed, or waiting their turn.
    pub fn io_outstanding(&self) -> usize {
        self.core.io.outstanding()
    }

    /// The next thing the adapter must do, in order: bytes to send, a
    /// connection to close, a storage request to run, an embedder timer
    /// that fired. Call until `None` after every `handle_*` call.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// [`Server::poll_output`] for tests that do not care when storage
    /// answers: storage requests are run at once, on this thread, and their
    /// completions handed back at `now`; every other output is returned.
    #[cfg(any(test, feature = "sim"))]
    pub fn poll_output_io_inline(&mut self, now: Instant) -> Option<Output> {
        loop {
            match self.out.pop_front()? {
                Output::Io(req) => self.handle_io(req.run(), now),
                other => return Some(other),
            }
        }
    }

    /// The earliest instant at which [`Server::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.core.timers.next(), self.core.leases.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A test's own deadline (tests of the clock plumbing: the simulation,
    /// the adapters' deadline wake-ups); [`Server::fired_user_timers`] lists
    /// those that fired.
    #[cfg(any(test, feature = "sim"))]
    pub fn set_user_timer(&mut self, key: u64, at: Instant) {
        self.core.timers.set(TimerKey::User(key), at);
    }

    /// Test deadlines that fired, with the instant `handle_timeout` was
    /// called at.
    #[cfg(any(test, feature = "sim"))]
    pub fn fired_user_timers(&self) -> &[(u64, Instant)] {
        &self.test_timers_fired
    }

    /// The core closes `conn` itself: its state is torn down and the adapter
    /// told to close it (after what was queued for it).
    /// Queues an output for the adapter, counting the bytes sent.
    fn push_out(&mut self, o: Output) {
        if let Output::Transmit { conn, data } = &o {
            if let Some(c) = self.conns.get(conn) {
                self.core.stats.bytes_sent[slot(c.protocol)] += data.len() as u64;
            }
        }
        self.out.push_back(o);
    }

    fn close(&mut self, conn: ConnId, now: Instant) {
        if let Some(c) = self.conns.remove(&conn) {
            self.teardown(conn, c, now);
            self.core.push(Output::Close { conn });
        }
    }

    fn teardown(&mut self, conn: ConnId, mut c: Connection, now: Instant) {
        tracing::debug!(conn = conn.0, protocol = ?c.protocol, "connection gone");
        self.open[slot(c.protocol)] = self.open[slot(c.protocol)].saturating_sub(1);
        self.core.timers.cancel(TimerKey::Unauthenticated(conn));
        self.core.times.closed(conn);
        match &mut c.state {
            ProtoConn::Smb(s) => smb::handle_closed(&mut self.core, &mut self.shared.smb, s, now),
            ProtoConn::Nfs(s) => nfs::handle_closed(&mut self.core, &mut self.shared.nfs, s, now),
        }
        // Whatever the protocol left behind: opens on the connection close
        // (releasing operations waiting on their caching) and its parked
        // operations are forgotten.
        self.core.leases.close_conn(conn, now);
        self.core.io.cancel_conn(conn);
    }

    /// Resumes parked operations whose waits resolved and closes what
    /// handlers asked to close, until nothing more is pending; then puts
    /// the queued outputs in order, break notifications in their places, and
    /// issues storage requests.
    fn settle(&mut self, now: Instant) {
        loop {
            // The lease table's events: breaks resolved by acks, closes and
            // timeouts release parked operations; notifications wait for
            // their place in the output.
            while let Some(event) = self.core.leases.poll_event() {
                match event {
                    LeaseEvent::Wake(token) => self.core.wake(token),
                    LeaseEvent::Break { seq, notification } => self.breaks.push_back((seq, notification)),
                }
            }
            // Durable opens the table gave up (timeout, conflict).
            smb::durable::reap(&mut self.core, &mut self.shared.smb, now);
            // Tree changes wake the CHANGE_NOTIFY requests they concern.
            smb::change_notify::deliver(&mut self.core, &mut self.shared.smb);
            if let Some(token) = self.core.ready.pop_front() {
                self.resume(token, now);
                continue;
            }
            let forced = self.shared.smb.take_forced_closes();
            if !forced.is_empty() {
                let mut then = std::collections::BTreeSet::new();
                for f in forced {
                    match self.conns.get_mut(&f.conn).map(|c| &mut c.state) {
                        Some(ProtoConn::Smb(s)) => smb::force_close(&mut self.core, &mut self.shared.smb, s, f, now),
                        _ => self.shared.smb.app_instances.remove(f.open),
                    }
                    then.insert(f.then);
                }
                for t in then {
                    self.core.wake(t);
                }
                continue;
            }
            let cleanups = self.shared.smb.take_completions();
            if !cleanups.is_empty() {
                for (t, status) in cleanups {
                    if let Some(ProtoConn::Smb(s)) = self.conns.get_mut(&t.conn).map(|c| &mut c.state) {
                        smb::complete(&mut self.core, &mut self.shared.smb, s, t.op, status);
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
        let c = self.core.leases.take_counters();
        let stats = &mut self.core.stats;
        stats.leases_granted += c.leases_granted;
        stats.breaks_sent += c.breaks_sent;
        stats.breaks_acked += c.breaks_acked;
        stats.breaks_timed_out += c.breaks_timed_out;
        stats.ops_parked += c.ops_parked;
        stats.time_parked += c.time_parked;
        stats.break_wait.merge(&c.waits);
        while let Some(slot) = self.core.pop_slot() {
            match slot {
                Slot::Out(o) => self.push_out(o),
                Slot::Breaks(upto) => self.send_breaks(Some(upto)),
            }
        }
        // Breaks caused by timeouts, acks, NFS calls and disconnects.
        self.send_breaks(None);
        for req in self.core.io.issue() {
            self.out.push_back(Output::Io(req));
        }
    }

    /// A parked operation whose wait resolved runs again.
    fn resume(&mut self, token: WaitToken, now: Instant) {
        let Some(c) = self.conns.get_mut(&token.conn) else {
            // Its connection is gone: a storage result nobody waits for.
            self.core.io.take_result(token);
            return;
        };
        let flow = match &mut c.state {
            ProtoConn::Smb(s) => smb::resume(&mut self.core, &mut self.shared.smb, s, token.op, now),
            ProtoConn::Nfs(s) => nfs::resume(&mut self.core, &mut self.shared.nfs, s, token.op, now),
        };
        if flow == Flow::Close {
            self.close(token.conn, now);
        }
    }

    /// Encodes the break notifications taken so far (those planned before
    /// `upto`, or all) into the output.
    fn send_breaks(&mut self, upto: Option<u64>) {
        while let Some((seq, n)) = self.breaks.front() {
            if upto.is_some_and(|upto| *seq >= upto) {
                break;
            }
            if let Some((conn, msg)) = smb::notify::encode(&self.shared.smb, n) {
                let msg = smb::seal_unsolicited(&mut self.shared.smb, conn, msg, &n.target);
                if let Some(msg) = msg {
                    let data = encode_frame(Protocol::Smb.transport(), &msg);
                    self.push_out(Output::Transmit { conn, data });
                }
            }
            self.breaks.pop_front();
        }
    }
}

/// The index of `protocol` in `Server::open`.
fn slot(protocol: Protocol) -> usize {
    match protocol {
        Protocol::Smb => 0,
        Protocol::Nfs => 1,
    }
}

fn log_frame_error(conn: ConnId, e: &FrameError) {
    tracing::info!(conn = conn.0, error = %e, "closing unframeable connection");
}
