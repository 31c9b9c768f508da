//! The state both protocols share: configuration, storage behind its change
//! journal, the lease table, the server's timers, storage requests, the
//! seeded generator, the clock and the counters, and the queue of what goes
//! out. Protocol state (SMB's open names, NFS's write verifier) is not here:
//! each protocol keeps its own beside this and is handed both.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use crate::config::{Config, Export};
use crate::framing::encode_frame;
use crate::id::{ConnId, Protocol, WaitToken};
use crate::io::{IoOp, IoResult, IoTable};
use crate::latency::RequestTimes;
use crate::lease::LeaseTable;
use crate::output::Output;
use crate::rng::Rng;
use crate::stats::Stats;
use crate::time::{Clock, Timers, Timespec};
use crate::vfs::{Journaled, ObjectId, Vfs};

/// What a protocol handler tells the server about its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep the connection.
    Continue,
    /// The stream is unusable (unframeable, or a protocol violation that the
    /// protocol answers by disconnecting): close this connection only.
    Close,
}

/// One entry of the outgoing queue: an output, or the point where the break
/// notifications planned so far must go out (the server encodes them there:
/// MS-SMB2 3.3.4.6/3.3.4.7 want a break ahead of the response of the
/// operation that caused it, and only SMB knows how to word one).
#[derive(Debug)]
pub(crate) enum Slot {
    Out(Output),
    /// Every break notification with a sequence number below this.
    Breaks(u64),
}

/// State shared by every connection and both protocols.
#[derive(Debug)]
pub struct Core {
    pub(crate) config: Config,
    /// The storage, behind the change journal both protocols write through.
    pub(crate) vfs: Journaled,
    pub(crate) timers: Timers,
    pub(crate) rng: Rng,
    pub(crate) clock: Clock,
    pub(crate) leases: LeaseTable,
    pub(crate) stats: Stats,
    /// Requests awaiting their final reply, timed for `stats`.
    pub(crate) times: RequestTimes,
    out: VecDeque<Slot>,
    /// Breaks planned when the last `Slot::Breaks` was queued.
    breaks_marked: u64,
    /// Parked operations whose waits have resolved, to be resumed by the
    /// server before the current call returns.
    pub(crate) ready: VecDeque<WaitToken>,
    /// Connections a handler wants closed (for example one that never
    /// authenticated, or a peer of the connection being handled).
    pub(crate) close_requests: Vec<ConnId>,
    /// Storage requests: ordering, the in-flight bound, results waiting for
    /// their operation.
    pub(crate) io: IoTable,
    /// Indexes of `config.nfs.exports` that a reconfiguration removed: their
    /// slots stay (file handles carry the index) and their handles are
    /// STALE.
    /// Epochs of export slots a reload reused (absent: 0); NFS handles
    /// carry the epoch they were made in.
    pub(crate) export_epochs: BTreeMap<usize, u16>,
    pub(crate) retired_exports: BTreeSet<usize>,
}

impl Core {
    pub(crate) fn new(config: Config, vfs: Journaled, rng: Rng, clock: Clock) -> Self {
        let leases = LeaseTable::new(config.break_timeout).with_directory_leasing(config.smb.directory_leasing);
        let io = IoTable::new(config.limits.max_io_in_flight, config.limits.io_buffer_pool);
        Self {
            config,
            vfs,
            timers: Timers::new(),
            rng,
            clock,
            leases,
            stats: Stats::default(),
            times: RequestTimes::default(),
            out: VecDeque::new(),
            breaks_marked: 0,
            ready: VecDeque::new(),
            close_requests: Vec::new(),
            io,
            retired_exports: BTreeSet::new(),
            export_epochs: BTreeMap::new(),
        }
    }

    /// Export `index` of the configuration, unless a reconfiguration
    /// removed it.
    /// Whether an SMB open (of a file, directory or stream) lies below
    /// directory `dir`: MS-FSA 2.1.4.2 "contains open files", which refuses
    /// the directory's rename from either protocol (MS-FSA 2.1.5.15.12).
    /// Every open's place is asked of storage ([`Vfs::is_within`], which
    /// backends answer from what they keep), so the cost grows with the
    /// open files; never for a file.
    pub(crate) fn has_open_below(&self, dir: ObjectId) -> bool {
        if !self.vfs.getattr(dir).is_ok_and(|a| a.kind == crate::vfs::FileType::Directory) {
            return false;
        }
        self.leases.open_files().any(|f| f != dir && self.vfs.is_within(f, dir).unwrap_or(false))
    }

    pub(crate) fn export(&self, index: usize) -> Option<&Export> {
        if self.retired_exports.contains(&index) {
            return None;
        }
        self.config.nfs.exports.get(index)
    }

    /// The epoch of export slot `index`: how many times a reload gave it
    /// to a new export (wrapping).
    pub(crate) fn export_epoch(&self, index: usize) -> u16 {
        self.export_epochs.get(&index).copied().unwrap_or(0)
    }

    /// Export `index` for a handle made in slot epoch `epoch`: `None` when
    /// the export was removed, or the slot now holds another export.
    pub(crate) fn export_at(&self, index: usize, epoch: u16) -> Option<&Export> {
        self.export(index).filter(|_| self.export_epoch(index) == epoch)
    }

    /// Queues a message for `conn`, framed for its transport, after the
    /// break notifications already planned.
    pub(crate) fn send(&mut self, conn: ConnId, protocol: Protocol, body: &[u8]) {
        self.mark_breaks();
        self.out.push_back(Slot::Out(Output::Transmit { conn, data: encode_frame(protocol.transport(), body) }));
    }

    /// The final reply to request `id` on `conn` is the one its storage
    /// worker framed: queued now, or (`None`) already written by the
    /// adapter ([`crate::io::IoCompletion::take_reply`]).
    pub(crate) fn framed_reply_done(&mut self, conn: ConnId, protocol: Protocol, id: u64, reply: Option<Bytes>) {
        self.request_done(conn, protocol, id);
        if let Some(reply) = reply {
            self.send_framed(conn, reply);
        }
    }

    /// Queues a message that is already framed (a reply built in place
    /// around its data), after the break notifications already planned.
    pub(crate) fn send_framed(&mut self, conn: ConnId, framed: Bytes) {
        self.mark_breaks();
        self.out.push_back(Slot::Out(Output::Transmit { conn, data: framed }));
    }

    /// Request `id` on `conn` has arrived (command index `command`): timed
    /// until [`Core::request_done`].
    pub(crate) fn request_begun(&mut self, conn: ConnId, id: u64, command: usize) {
        self.times.begin(conn, id, command);
    }

    /// The final reply to request `id` on `conn` is queued now.
    pub(crate) fn request_done(&mut self, conn: ConnId, protocol: Protocol, id: u64) {
        self.times.end(conn, protocol, id, &mut self.stats);
    }

    /// Queues any other output, in order with the messages.
    pub(crate) fn push(&mut self, output: Output) {
        self.out.push_back(Slot::Out(output));
    }

    /// The next queued entry, for the server to expand.
    pub(crate) fn pop_slot(&mut self) -> Option<Slot> {
        self.out.pop_front()
    }

    fn mark_breaks(&mut self) {
        let planned = self.leases.breaks_planned();
        if planned > self.breaks_marked {
            self.breaks_marked = planned;
            self.out.push_back(Slot::Breaks(planned));
        }
    }

    /// Submits a storage request for the operation `token`; its completion
    /// resumes that operation.
    pub(crate) fn submit_io(&mut self, token: WaitToken, op: IoOp) {
        let vfs = self.vfs.backend();
        self.io.submit(token, op, vfs);
    }

    /// Runs a storage operation at once on this thread (a data operation
    /// inside a compound, which must keep its place) and notes a write in
    /// the change journal, as a completion would.
    pub(crate) fn run_io_inline(&mut self, op: IoOp) -> IoResult {
        let object = op.object();
        let result = self.io.run_inline(op, self.vfs.backend());
        if let (IoResult::Write(Ok(_)), Some(object)) = (&result, object) {
            self.vfs.note_write(object);
        }
        result
    }

    /// Wall-clock time at `now`.
    pub(crate) fn wall(&self, now: Instant) -> Timespec {
        self.clock.wall(now)
    }

    /// Resumes `token`'s operation before the current call returns.
    pub(crate) fn wake(&mut self, token: WaitToken) {
        self.ready.push_back(token);
    }
}
