//! [`LeaseTable`]: the opens, leases, oplocks, pending breaks, parked
//! operations and byte-range locks of every file, and the events it hands out.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crate::id::{ConnId, WaitToken};
use crate::stats::Histogram;

mod durable;
pub(super) mod grant;
#[cfg(test)]
mod tests;

use super::breaks::{self, BreakNotification, BreakTarget, Caller, Decision, HolderKind, Operation};
use super::lease::{ClientGuid, Lease, LeaseInfo, LeaseKey, LeaseOwner, LeaseVersion};
use super::locks::{ByteRangeLock, LockConflict, LockError, LockTable, LockWait, UnlockError};
use super::open::{FileKey, OpenEntry, OpenId, SharingViolation, share_conflict};
use super::oplock::{self, OplockLevel};
use super::preserved::Preserved;
use super::state::{Caching, LeaseState};
use super::waiters::{Holder, Waiter, Waiters};

/// Who holds caching: a lease (by owner) or an oplock (by open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HolderId {
    /// A lease: the caching of every open made under its owner.
    Lease(LeaseOwner),
    /// The classic oplock of one open.
    Oplock(OpenId),
}

/// A read-only view of one holder ([`LeaseTable::holder_views`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HolderView {
    /// The file held.
    pub file: FileKey,
    /// Who holds it.
    pub holder: HolderId,
    /// Caching held now (an oplock as R / RH / RWH).
    pub state: LeaseState,
    /// A break was sent and is not yet acknowledged or timed out.
    pub breaking: bool,
    /// The state the pending break announced (meaningful when `breaking`).
    pub break_to: LeaseState,
    /// The pending break's id, as in [`LeaseTable::pending_break_ids`] and
    /// [`LeaseTable::break_deadline`].
    pub break_id: u64,
}

impl HolderView {
    fn of(file: FileKey, holder: HolderId, c: &Caching) -> Self {
        Self { file, holder, state: c.state, breaking: c.breaking, break_to: c.break_to, break_id: c.break_id }
    }
}

/// Acknowledgment errors (MS-SMB2 3.3.5.22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// STATUS_OBJECT_NAME_NOT_FOUND: no lease with this key.
    #[error("no such lease")]
    NotFound,
    /// STATUS_UNSUCCESSFUL: the lease is not breaking (unsolicited,
    /// duplicate or late ack).
    #[error("lease is not breaking")]
    NotBreaking,
    /// STATUS_REQUEST_NOT_ACCEPTED: the acked state is not a subset of the
    /// break-to state.
    #[error("acknowledged state is not a subset of the break-to state")]
    NotSubset,
    /// STATUS_INVALID_OPLOCK_PROTOCOL: no oplock break pending, or an
    /// acknowledged level the break does not allow.
    #[error("invalid oplock protocol")]
    InvalidOplockProtocol,
}

/// Counters accumulated since the last [`LeaseTable::take_counters`]; they
/// map one to one onto `crate::stats::Stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseCounters {
    /// CREATEs granted some caching (a lease with a state other than NONE,
    /// or an oplock).
    pub leases_granted: u64,
    /// Break notifications planned.
    pub breaks_sent: u64,
    /// Breaks the client acknowledged.
    pub breaks_acked: u64,
    /// Breaks not acknowledged within the break timeout.
    pub breaks_timed_out: u64,
    /// Operations parked behind a break, and lock requests waiting for a
    /// conflicting byte-range lock to go.
    pub ops_parked: u64,
    /// Time parked operations waited, added as each is woken.
    pub time_parked: Duration,
    /// The same waits, one observation each.
    pub waits: Histogram,
}

/// Opens, leases, oplocks, pending breaks, parked operations and
/// byte-range locks of every file, shared by SMB and NFS (see the
/// [module docs](crate::lease)).
#[derive(Debug)]
pub struct LeaseTable {
    /// How long a holder has to acknowledge a break before it drops to NONE
    /// (MS-SMB2 3.3.2.5).
    pub break_timeout: Duration,
    /// Grant R/RH leases on directories (off: directories get NONE).
    pub directory_leasing: bool,
    opens: BTreeMap<OpenId, OpenEntry>,
    by_file: BTreeMap<FileKey, Vec<OpenId>>,
    /// The open streams of each file (file -> stream keys), so a delete or
    /// rename of the file meets its streams' share modes from either
    /// protocol (MS-FSA 2.1.5.1.2.1); a stream leaves with its last open.
    open_streams: BTreeMap<FileKey, BTreeSet<FileKey>>,
    next_open: u64,
    leases: BTreeMap<LeaseOwner, Lease>,
    leases_on: BTreeMap<FileKey, BTreeSet<LeaseOwner>>,
    /// The leases on directories: an NFS change found by a file's handle
    /// looks for leased parents among these only, not among every lease.
    directory_leases: BTreeSet<LeaseOwner>,
    open_lease: BTreeMap<OpenId, LeaseOwner>,
    oplocks: BTreeMap<OpenId, Caching>,
    /// Pending breaks by TimerKey::Break id.
    breaks: BTreeMap<u64, Holder>,
    next_break: u64,
    next_lease_serial: u64,
    notifications: VecDeque<(u64, BreakNotification)>,
    waiters: Waiters,
    woken: VecDeque<WaitToken>,
    locks: LockTable,
    counters: LeaseCounters,
    /// When each pending break times out, by break id, and the same in
    /// deadline order: the table keeps its own deadlines.
    break_at: BTreeMap<u64, Instant>,
    deadlines: BTreeSet<(Instant, u64)>,
    /// Break notifications planned so far (the sequence number of the next).
    planned: u64,
    /// Operations an ack of a lease's break released, with that lease: when
    /// one runs again and breaks the lease further, it continues the acked
    /// break (MS-SMB2 3.3.4.7 note <248>: no new epoch). Bounded by
    /// [`MAX_RESUMED_AFTER_ACK`].
    resumed_after_ack: BTreeMap<WaitToken, LeaseOwner>,
    /// Opens kept for a holder that lost its connection (`table/durable.rs`).
    preserved: Preserved,
}

/// How many operations released by an ack the table remembers; beyond it
/// the lowest token is forgotten (its break then takes a new epoch, which
/// a client accepts).
const MAX_RESUMED_AFTER_ACK: usize = 1024;

/// What the table has for whoever drives it ([`LeaseTable::poll_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseEvent {
    /// A break notification to send. `seq` counts every notification the
    /// table planned: one planned before a response was queued must reach
    /// the wire before that response (see [`LeaseTable::breaks_planned`]).
    Break {
        /// Sequence number among all planned notifications, from 0.
        seq: u64,
        /// What to send.
        notification: BreakNotification,
    },
    /// A parked operation whose breaks resolved: re-run it.
    Wake(WaitToken),
}

/// What `holder` still holds (NONE once it is gone).
/// What the instance `serial` of `h` holds. A lease key freed by its last
/// close may be reused, on this file or another; the new lease is no
/// business of an operation parked on the old one (it re-runs, and breaks
/// the new lease then if it must).
fn held_by(
    leases: &BTreeMap<LeaseOwner, Lease>,
    oplocks: &BTreeMap<OpenId, Caching>,
    h: &Holder,
    serial: u64,
) -> LeaseState {
    match h {
        Holder::Lease(o) => leases.get(o).filter(|l| l.serial == serial).map(|l| l.caching.state).unwrap_or_default(),
        Holder::Oplock(id) => oplocks.get(id).map(|c| c.state).unwrap_or_default(),
    }
}

fn held_in(leases: &BTreeMap<LeaseOwner, Lease>, oplocks: &BTreeMap<OpenId, Caching>, h: &Holder) -> LeaseState {
    match h {
        Holder::Lease(o) => leases.get(o).map(|l| l.caching.state).unwrap_or_default(),
        Holder::Oplock(id) => oplocks.get(id).map(|c| c.state).unwrap_or_default(),
    }
}

impl LeaseTable {
    /// An empty table whose breaks time out after `break_timeout`, with
    /// directory leasing off.
    pub fn new(break_timeout: Duration) -> Self {
        Self {
            break_timeout,
            directory_leasing: false,
            opens: BTreeMap::new(),
            by_file: BTreeMap::new(),
            open_streams: BTreeMap::new(),
            next_open: 1,
            leases: BTreeMap::new(),
            directory_leases: BTreeSet::new(),
            leases_on: BTreeMap::new(),
            open_lease: BTreeMap::new(),
            oplocks: BTreeMap::new(),
            breaks: BTreeMap::new(),
            next_lease_serial: 0,
            next_break: 0,
            notifications: VecDeque::new(),
            waiters: Waiters::default(),
            woken: VecDeque::new(),
            locks: LockTable::default(),
            counters: LeaseCounters::default(),
            break_at: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            planned: 0,
            resumed_after_ack: BTreeMap::new(),
            preserved: Preserved::default(),
        }
    }

    /// Turns directory leasing (R and RH on directories) on or off.
    pub fn with_directory_leasing(mut self, on: bool) -> Self {
        self.directory_leasing = on;
        self
    }

    /// Would an open of `file` with `access` and `share_mode` be refused with
    /// STATUS_SHARING_VIOLATION?
    pub fn check_share(&self, file: FileKey, access: u32, share_mode: u32) -> Result<(), SharingViolation> {
        match self.opens_on(file).any(|(_, e)| share_conflict(e, access, share_mode)) {
            true => Err(SharingViolation),
            false => Ok(()),
        }
    }

    /// Registers an open that passed [`LeaseTable::check_share`]. Its
    /// caching comes from [`LeaseTable::grant`].
    pub fn add_open(&mut self, file: FileKey, access: u32, share_mode: u32, conn: ConnId) -> OpenId {
        let id = OpenId(self.next_open);
        self.next_open += 1;
        self.opens.insert(id, OpenEntry { file, access, share: share_mode, conn });
        self.by_file.entry(file).or_default().push(id);
        id
    }

    /// Notes that `stream`, which has an open, is an alternate data stream
    /// of `file` ([`LeaseTable::streams_allow_delete`]).
    pub fn note_stream(&mut self, stream: FileKey, file: FileKey) {
        self.open_streams.entry(file).or_default().insert(stream);
    }

    /// Whether the open streams of `file` let it be deleted or renamed:
    /// one opened without FILE_SHARE_DELETE refuses it (MS-FSA 2.1.5.1.2.1;
    /// smbtorture smb2.streams.delete), whichever protocol asks. A stream's
    /// own opens never meet the file's.
    pub fn streams_allow_delete(&self, file: FileKey) -> Result<(), SharingViolation> {
        use super::share::{DELETE, READ, WRITE};
        for s in self.open_streams.get(&file).into_iter().flatten() {
            self.check_share(*s, super::access::DELETE, READ | WRITE | DELETE)?;
        }
        Ok(())
    }

    /// Closes an open: drops its byte-range locks and oplock, and its share
    /// of a lease; the last open of a lease frees it, completing a pending
    /// break as NONE (MS-SMB2 3.3.4.7). Waiters released by this are woken
    /// ([`LeaseEvent::Wake`]), timed as parked until `now`.
    pub fn close_open(&mut self, id: OpenId, now: Instant) -> Option<OpenEntry> {
        let e = self.opens.remove(&id)?;
        self.unlist(id, e.file);
        self.locks.remove_open(e.file, id);
        self.drop_caching(id);
        self.release(now);
        self.retry_locks(e.file, Some(now));
        Some(e)
    }

    /// Detaches an open from its oplock or lease; a pending oplock break
    /// ends, and the lease goes with its last open.
    fn drop_caching(&mut self, id: OpenId) {
        if let Some(c) = self.oplocks.remove(&id)
            && c.breaking
        {
            self.breaks.remove(&c.break_id);
            self.clear_deadline(c.break_id);
        }
        if let Some(owner) = self.open_lease.remove(&id)
            && let Some(l) = self.leases.get_mut(&owner)
        {
            l.opens.retain(|o| *o != id);
            if l.opens.is_empty() {
                self.free_lease(owner);
            }
        }
    }

    /// A connection went away: closes its opens and cancels its parked
    /// operations. Returns the opens closed.
    pub fn close_conn(&mut self, conn: ConnId, now: Instant) -> Vec<OpenId> {
        let ids: Vec<OpenId> = (self.opens.iter())
            .filter(|(id, e)| e.conn == conn && !self.preserved.contains(**id))
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            self.close_open(*id, now);
        }
        let parked: Vec<WaitToken> = self.waiters.tokens().filter(|t| t.conn == conn).collect();
        for t in parked {
            self.waiters.cancel(t);
        }
        for t in self.locks.tokens().into_iter().filter(|t| t.conn == conn) {
            self.cancel_lock_wait(t, Some(now));
        }
        self.woken.retain(|t| t.conn != conn);
        self.resumed_after_ack.retain(|t, _| t.conn != conn);
        ids
    }

    /// The open `id`, if it is registered.
    pub fn open(&self, id: OpenId) -> Option<&OpenEntry> {
        self.opens.get(&id)
    }

    /// Whether a stream of `file` has an open.
    pub fn has_open_streams(&self, file: FileKey) -> bool {
        self.open_streams.contains_key(&file)
    }

    /// Takes open `id` off `file`'s list; with the last, `file` leaves the
    /// open streams.
    fn unlist(&mut self, id: OpenId, file: FileKey) {
        if let Some(v) = self.by_file.get_mut(&file) {
            v.retain(|o| *o != id);
            if v.is_empty() {
                self.by_file.remove(&file);
                self.open_streams.retain(|_, s| {
                    s.remove(&file);
                    !s.is_empty()
                });
            }
        }
    }

    /// Moves open `id` to `to`, as when the stream it has open becomes its
    /// file's unnamed stream or the reverse (MS-FSA 2.1.5.15.12.1: Open.Stream
    /// is set to the target). What the open held on the stream it leaves
    /// stays with that stream (MS-FSA 2.1.1.5 Stream.Oplock,
    /// Stream.ByteRangeLockList), so the open moves without them: its
    /// oplock or its share of a lease and its byte-range locks are dropped
    /// (lock requests still waiting are cancelled here; the caller answers
    /// them). `false` when no open has the id.
    pub fn move_open(&mut self, id: OpenId, to: FileKey, now: Instant) -> bool {
        let Some(from) = self.opens.get(&id).map(|e| e.file) else { return false };
        self.locks.remove_open(from, id);
        self.drop_caching(id);
        self.release(now);
        self.retry_locks(from, Some(now));
        self.unlist(id, from);
        self.by_file.entry(to).or_default().push(id);
        if let Some(e) = self.opens.get_mut(&id) {
            e.file = to;
        }
        true
    }

    /// Every file (or stream) with an open.
    pub fn open_files(&self) -> impl Iterator<Item = FileKey> + '_ {
        self.by_file.keys().copied()
    }

    /// The opens of `file`, oldest first.
    pub fn opens_on(&self, file: FileKey) -> impl Iterator<Item = (OpenId, &OpenEntry)> + '_ {
        self.by_file.get(&file).into_iter().flatten().filter_map(|id| self.opens.get(id).map(|e| (*id, e)))
    }

    // ---- inspection ----

    /// The lease (`client_guid`, `key`), if it exists.
    pub fn lease_info(&self, client_guid: ClientGuid, key: LeaseKey) -> Option<LeaseInfo> {
        self.leases.get(&LeaseOwner { client_guid, key }).map(LeaseInfo::of)
    }

    /// The lease an open was made under.
    pub fn lease_of(&self, open: OpenId) -> Option<LeaseOwner> {
        self.open_lease.get(&open).copied()
    }

    /// The oplock level an open holds now.
    pub fn oplock_level(&self, open: OpenId) -> OplockLevel {
        OplockLevel::from_state(self.oplocks.get(&open).map(|c| c.state).unwrap_or_default())
    }

    /// Is an oplock break of `open` awaiting its acknowledgment?
    pub fn oplock_breaking(&self, open: OpenId) -> bool {
        self.oplocks.get(&open).is_some_and(|c| c.breaking)
    }

    /// Every holder of caching, with its file and break state: what the
    /// randomized simulation checks its invariants against.
    pub fn holder_views(&self) -> Vec<HolderView> {
        let leases = self.leases.iter().map(|(o, l)| HolderView::of(l.file, HolderId::Lease(*o), &l.caching));
        let oplocks = self
            .oplocks
            .iter()
            .filter_map(|(id, c)| Some(HolderView::of(self.opens.get(id)?.file, HolderId::Oplock(*id), c)));
        leases.chain(oplocks).collect()
    }

    /// The ids of the breaks still awaiting an answer.
    pub fn pending_break_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.breaks.keys().copied()
    }

    /// What the operation parked under `token` waits for: each holder, the
    /// caching it holds now, the rights it must lose, and whether its break
    /// awaits an acknowledgment. `None` when nothing is parked under it.
    pub fn waits_of(&self, token: WaitToken) -> Option<Vec<(HolderId, LeaseState, LeaseState, bool)>> {
        let w = self.waiters.get(token)?;
        let deps = w.deps.iter().map(|(h, _, lose)| {
            let breaking = match h {
                Holder::Lease(o) => self.leases.get(o).is_some_and(|l| l.caching.breaking),
                Holder::Oplock(id) => self.oplocks.get(id).is_some_and(|c| c.breaking),
            };
            let id = match h {
                Holder::Lease(o) => HolderId::Lease(*o),
                Holder::Oplock(id) => HolderId::Oplock(*id),
            };
            (id, held_in(&self.leases, &self.oplocks, h), *lose, breaking)
        });
        Some(deps.collect())
    }

    /// Brings the deadline of every break the operation parked under
    /// `token` waits for forward to `at` when it is later (a break keeps the
    /// earliest deadline any waiter asked for): an NFS export's own break
    /// timeout, shorter than the table's. The holder then drops to NONE at
    /// `at` as at any break timeout.
    pub fn hasten_breaks_of(&mut self, token: WaitToken, at: Instant) {
        let Some(w) = self.waiters.get(token) else { return };
        let ids: Vec<u64> =
            w.deps.iter().filter_map(|(h, _, _)| self.caching(h).filter(|c| c.breaking).map(|c| c.break_id)).collect();
        for id in ids {
            if self.break_at.get(&id).is_some_and(|due| *due > at) {
                self.set_deadline(id, at);
            }
        }
    }

    /// Operations parked now.
    pub fn parked(&self) -> usize {
        self.waiters.len()
    }

    /// Is the operation under `token` parked?
    pub fn is_parked(&self, token: WaitToken) -> bool {
        self.waiters.contains(token)
    }

    // ---- breaks ----

    /// Describes an operation about to run on `file`: plans the breaks of
    /// other holders (MS-FSA 2.1.4.12), queues their notifications, starts
    /// their deadlines, and parks `waiter` if the operation must wait for one.
    pub fn begin(&mut self, file: FileKey, op: Operation, caller: Caller, waiter: WaitToken, now: Instant) -> Decision {
        self.begin_all(&[(file, op)], caller, waiter, now)
    }

    /// [`LeaseTable::begin`] for an operation on several files at once (an
    /// NFS RENAME: source and existing target; a SETATTR of size and mode):
    /// every break goes out now and the operation waits for all of them
    /// under the one token.
    pub fn begin_all(
        &mut self,
        ops: &[(FileKey, Operation)],
        caller: Caller,
        waiter: WaitToken,
        now: Instant,
    ) -> Decision {
        let continues = self.resumed_after_ack.remove(&waiter);
        let deps = self.break_for(ops, caller, continues, now);
        if deps.is_empty() {
            self.waiters.cancel(waiter);
            return Decision::Proceed;
        }
        if self.waiters.park(Waiter { token: waiter, deps, parked_at: now }) {
            self.counters.ops_parked += 1;
        }
        Decision::Wait
    }

    /// Sends the breaks `ops` cause without parking anything: `Wait` says
    /// the operation would have had to wait (NFS3ERR_JUKEBOX, docs/LEASES.md "How NFS waits").
    pub fn break_only(&mut self, ops: &[(FileKey, Operation)], caller: Caller, now: Instant) -> Decision {
        match self.break_for(ops, caller, None, now).is_empty() {
            true => Decision::Proceed,
            false => Decision::Wait,
        }
    }

    /// Starts (or narrows) the breaks `ops` cause in holders with another
    /// key; returns what is left to wait for. A break of lease `continues`
    /// goes on from the break whose ack released the operation.
    fn break_for(
        &mut self,
        ops: &[(FileKey, Operation)],
        caller: Caller,
        continues: Option<LeaseOwner>,
        now: Instant,
    ) -> Vec<(Holder, u64, LeaseState)> {
        let mut deps = Vec::new();
        for &(file, op) in ops {
            let holders: Vec<(Holder, HolderKind)> = self
                .holders_on(file)
                .into_iter()
                .filter(|(h, _)| op != Operation::ChildChange || self.is_directory_lease(h))
                .filter(|(h, kind)| {
                    !self.is_own(caller, h, op) || breaks::breaks_own_level_ii(op, *kind, self.breakable(h))
                })
                .collect();
            // MS-FSA 2.1.5.1.2: an open failing its sharing check breaks H first.
            let sharing_violation = match op {
                Operation::Open { access, share, .. } => self.check_share(file, access, share).is_err(),
                _ => false,
            };
            for (h, kind) in holders {
                let mut plan = breaks::plan(op, kind, self.held(&h), sharing_violation);
                if plan.remove.is_none() {
                    continue;
                }
                // An open meeting a break already in progress waits for all of
                // it, and an overwrite then takes only H and W: its truncation
                // breaks R when it runs (smbtorture smb2.lease.breaking3).
                // Only a break that holds back W (or continues one that did)
                // makes an open wait for all of it; an open meeting a break of
                // RH goes on unless it needs H itself (MS-FSA 2.1.4.12,
                // smbtorture smb2.lease.breaking4).
                let was_breaking = matches!(op, Operation::Open { .. })
                    && self.caching(&h).is_some_and(|c| c.breaking && (c.chained || c.state.contains(LeaseState::W)));
                if was_breaking && matches!(op, Operation::Open { truncate: true, .. }) {
                    plan.remove = plan.remove.minus(LeaseState::R).union(LeaseState::H);
                }
                let chained = matches!(h, Holder::Lease(o) if Some(o) == continues);
                self.apply(h, kind, plan.remove, chained, now);
                let mut pending = self.held(&h).intersect(plan.wait_for);
                if was_breaking && let Some(c) = self.caching(&h) {
                    pending = pending.union(c.state.minus(c.required));
                }
                if !pending.is_none() {
                    deps.push((h, self.serial(&h), pending));
                }
            }
        }
        deps
    }

    /// What the table has for its driver: parked operations to re-run (in
    /// parking order), then break notifications (in the order planned).
    /// The server's settle loop is the one place that drains it.
    pub fn poll_event(&mut self) -> Option<LeaseEvent> {
        if let Some(t) = self.woken.pop_front() {
            return Some(LeaseEvent::Wake(t));
        }
        let (seq, notification) = self.notifications.pop_front()?;
        Some(LeaseEvent::Break { seq, notification })
    }

    /// How many break notifications the table has planned so far. A
    /// response queued now must follow every notification whose `seq` is
    /// below this (the break precedes the response of the operation that
    /// caused it, MS-SMB2 3.3.4.6/3.3.4.7).
    pub fn breaks_planned(&self) -> u64 {
        self.planned
    }

    /// The earliest instant at which [`LeaseTable::handle_timeout`] has work
    /// (a break that will have gone unanswered too long, a preserved open
    /// whose timeout passes).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let breaks = self.deadlines.first().map(|(at, _)| *at);
        match (breaks, self.preserved.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Times out every break due at `now` (MS-SMB2 3.3.2.5, 3.3.6.1): its
    /// holder drops to NONE and the operations waiting on it go on. Closes
    /// the preserved opens whose timeout passed (MS-SMB2 3.3.2.2).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.remove(&(at, id));
            self.break_at.remove(&id);
            self.break_timed_out(id, now);
        }
        self.expire_preserved(now);
    }

    /// Every pending break's deadline: (break id, when it times out).
    pub fn break_deadlines(&self) -> impl Iterator<Item = (u64, Instant)> + '_ {
        self.break_at.iter().map(|(id, at)| (*id, *at))
    }

    /// When the pending break `id` times out.
    pub fn break_deadline(&self, id: u64) -> Option<Instant> {
        self.break_at.get(&id).copied()
    }

    /// The next break notification, for tests that look at breaks only.
    #[cfg(test)]
    pub(crate) fn poll_notification(&mut self) -> Option<BreakNotification> {
        self.notifications.pop_front().map(|(_, n)| n)
    }

    /// Woken operations, for tests that look at wake-ups only.
    #[cfg(test)]
    pub(crate) fn take_woken(&mut self) -> Vec<WaitToken> {
        self.woken.drain(..).collect()
    }

    /// Forgets a parked operation (SMB CANCEL, NFS disconnect), and a lock
    /// request waiting under `token` (a lock granted to it and not yet
    /// taken with [`LeaseTable::lock_or_wait`] is undone). Returns whether
    /// it was parked.
    pub fn cancel_waiter(&mut self, token: WaitToken) -> bool {
        let parked = self.waiters.cancel(token).is_some();
        self.resumed_after_ack.remove(&token);
        let lock = self.cancel_lock_wait(token, None);
        self.woken.retain(|t| *t != token);
        parked || lock
    }

    fn cancel_lock_wait(&mut self, token: WaitToken, now: Option<Instant>) -> bool {
        let (was, changed) = self.locks.cancel(token);
        self.woken.retain(|t| *t != token);
        if let Some(file) = changed {
            self.retry_locks(file, now);
        }
        was
    }

    /// MS-SMB2 3.3.5.22.2: the client acknowledges a lease break with
    /// `state`, on any connection of its ClientGuid. Returns the state for
    /// the ack response. If a later conflict needs less than `state`, the
    /// next break is queued at once (drain notifications before answering).
    pub fn ack_lease(
        &mut self,
        client_guid: ClientGuid,
        key: LeaseKey,
        state: LeaseState,
        now: Instant,
    ) -> Result<LeaseState, AckError> {
        let owner = LeaseOwner { client_guid, key };
        let l = self.leases.get(&owner).ok_or(AckError::NotFound)?;
        if !l.caching.breaking {
            return Err(AckError::NotBreaking);
        }
        if !state.is_subset_of(l.caching.break_to) {
            return Err(AckError::NotSubset);
        }
        let state = state.normalized();
        self.counters.breaks_acked += 1;
        self.resolve(Holder::Lease(owner), state, now);
        self.release_from(Some(owner), now);
        Ok(state)
    }

    /// MS-SMB2 3.3.5.22.1: the client acknowledges an oplock break with the
    /// wire level `level` (0 none, 1 level II). Returns the wire level for
    /// the ack response. A level other than II or NONE ends the oplock
    /// (NONE) and is refused.
    pub fn ack_oplock(&mut self, open: OpenId, level: u8, now: Instant) -> Result<u8, AckError> {
        let c = *self.oplocks.get(&open).filter(|c| c.breaking).ok_or(AckError::InvalidOplockProtocol)?;
        let acked = match OplockLevel::from_wire(level) {
            Some(OplockLevel::None) => LeaseState::NONE,
            Some(OplockLevel::II) => LeaseState::R,
            _ => {
                self.resolve(Holder::Oplock(open), LeaseState::NONE, now);
                self.prune_oplock(open);
                self.release(now);
                return Err(AckError::InvalidOplockProtocol);
            }
        };
        // An II ack of a break to NONE leaves NONE.
        let state = acked.intersect(c.break_to);
        self.counters.breaks_acked += 1;
        self.resolve(Holder::Oplock(open), state, now);
        self.prune_oplock(open);
        self.release(now);
        Ok(OplockLevel::from_state(state).to_wire())
    }

    /// The break `id` was not acknowledged in time: the holder drops to NONE
    /// (not the break-to state) and its waiters go on.
    fn break_timed_out(&mut self, id: u64, now: Instant) {
        let Some(h) = self.breaks.get(&id).copied() else { return };
        tracing::info!(break_id = id, holder = ?h, "lease/oplock break timed out");
        self.counters.breaks_timed_out += 1;
        self.resolve(h, LeaseState::NONE, now);
        if let Holder::Oplock(open) = h {
            self.prune_oplock(open);
        }
        self.release(now);
    }

    /// Counters since the last call.
    pub fn take_counters(&mut self) -> LeaseCounters {
        std::mem::take(&mut self.counters)
    }

    // ---- byte-range locks ----

    /// MS-FSA 2.1.5.8 with FailImmediately: a conflicting lock is refused
    /// ([`LockError::NotGranted`]). Call `begin(Operation::Lock)` first for
    /// the breaks.
    pub fn lock(
        &mut self,
        file: FileKey,
        open: OpenId,
        offset: u64,
        length: u64,
        exclusive: bool,
    ) -> Result<(), LockError> {
        self.locks.lock(file, open, offset, length, exclusive)
    }

    /// MS-FSA 2.1.5.8 without FailImmediately: the lock is granted now
    /// ([`Decision::Proceed`]) or `waiter` waits for it ([`Decision::Wait`]).
    /// A waiting lock is granted, in arrival order, when the locks it
    /// conflicts with are unlocked or their opens close; its token is then
    /// woken ([`LeaseEvent::Wake`]) and the request, run again, calls this
    /// again under the same token to learn it holds the lock. A waiting
    /// lock goes with its open ([`LeaseTable::close_open`]), its
    /// connection or [`LeaseTable::cancel_waiter`].
    #[allow(clippy::too_many_arguments)]
    pub fn lock_or_wait(
        &mut self,
        file: FileKey,
        open: OpenId,
        offset: u64,
        length: u64,
        exclusive: bool,
        waiter: WaitToken,
        now: Instant,
    ) -> Result<Decision, LockError> {
        let l = ByteRangeLock { open, offset, length, exclusive };
        match self.locks.lock_or_wait(file, l, waiter, now)? {
            true => Ok(Decision::Proceed),
            false => {
                self.counters.ops_parked += 1;
                Ok(Decision::Wait)
            }
        }
    }

    /// Takes the lock granted to the request waiting under `waiter`, if it
    /// was granted and not yet taken (the request then answers success).
    pub fn take_lock_grant(&mut self, waiter: WaitToken) -> bool {
        self.locks.take_grant(waiter)
    }

    /// The lock requests of `open` still waiting to be granted.
    pub fn lock_waits_of(&self, open: OpenId) -> Vec<WaitToken> {
        self.locks.waiting_of(open)
    }

    /// Lock requests waiting now.
    pub fn lock_waits(&self) -> usize {
        self.locks.waiting_len()
    }

    /// Is a lock request waiting under `token`?
    pub fn is_lock_waiting(&self, token: WaitToken) -> bool {
        self.locks.is_waiting(token)
    }

    /// MS-FSA 2.1.5.9. Lock requests the range blocked are retried.
    pub fn unlock(
        &mut self,
        file: FileKey,
        open: OpenId,
        offset: u64,
        length: u64,
        now: Instant,
    ) -> Result<(), UnlockError> {
        self.locks.unlock(file, open, offset, length)?;
        self.retry_locks(file, Some(now));
        Ok(())
    }

    /// Grants what waiting lock requests on `file` now can have, first
    /// come first served, and wakes them, timed as parked until `now`
    /// (when known).
    fn retry_locks(&mut self, file: FileKey, now: Option<Instant>) {
        for LockWait { token, parked_at, .. } in self.locks.retry(file) {
            let waited = now.unwrap_or(parked_at).saturating_duration_since(parked_at);
            self.counters.time_parked += waited;
            self.counters.waits.observe(waited);
            self.woken.push_back(token);
        }
    }

    /// Does a read (or write) by `open` conflict with byte-range locks?
    /// `open` may be an id no open has (NFS): then every lock is another's.
    pub fn check_io(
        &self,
        file: FileKey,
        open: OpenId,
        offset: u64,
        len: u64,
        write: bool,
    ) -> Result<(), LockConflict> {
        self.locks.check_io(file, open, offset, len, write)
    }

    /// The byte-range locks granted on `file`.
    pub fn locks_on(&self, file: FileKey) -> &[ByteRangeLock] {
        self.locks.locks(file)
    }

    // ---- internals ----

    fn held(&self, h: &Holder) -> LeaseState {
        held_in(&self.leases, &self.oplocks, h)
    }

    /// What a holder holds with no break in progress (NONE while breaking).
    fn breakable(&self, h: &Holder) -> LeaseState {
        self.caching(h).filter(|c| !c.breaking).map(|c| c.state).unwrap_or_default()
    }

    /// The instance of a holder a waiter depends on: a lease's serial (an
    /// oplock's OpenId is never reused).
    fn serial(&self, h: &Holder) -> u64 {
        match h {
            Holder::Lease(o) => self.leases.get(o).map_or(0, |l| l.serial),
            Holder::Oplock(_) => 0,
        }
    }

    pub(crate) fn next_serial(&mut self) -> u64 {
        self.next_lease_serial += 1;
        self.next_lease_serial
    }

    fn caching(&self, h: &Holder) -> Option<Caching> {
        match h {
            Holder::Lease(o) => self.leases.get(o).map(|l| l.caching),
            Holder::Oplock(id) => self.oplocks.get(id).copied(),
        }
    }

    fn caching_mut(&mut self, h: &Holder) -> Option<&mut Caching> {
        match h {
            Holder::Lease(o) => self.leases.get_mut(o).map(|l| &mut l.caching),
            Holder::Oplock(id) => self.oplocks.get_mut(id),
        }
    }

    /// Every holder of caching on `file`: leases, then oplocks in open order.
    fn holders_on(&self, file: FileKey) -> Vec<(Holder, HolderKind)> {
        let leases = self.leases_on.get(&file).into_iter().flatten().map(|o| (Holder::Lease(*o), HolderKind::Lease));
        let oplocks = self
            .by_file
            .get(&file)
            .into_iter()
            .flatten()
            .filter(|id| self.oplocks.contains_key(id))
            .map(|id| (Holder::Oplock(*id), HolderKind::Oplock));
        leases.chain(oplocks).collect()
    }

    /// Own caching never breaks (MS-FSA 2.1.4.12.2). For a change to a
    /// child (PARENT_OBJECT) the caller's ParentLeaseKey is compared with
    /// the directory lease's key instead of its own key.
    fn is_own(&self, caller: Caller, h: &Holder, op: Operation) -> bool {
        if op == Operation::ChildChange {
            return self.is_parent_owner(caller, h);
        }
        match (caller, h) {
            (Caller::Lease(client_guid, key), Holder::Lease(o)) => *o == LeaseOwner { client_guid, key },
            (Caller::Open(id), Holder::Oplock(o)) => id == *o,
            (Caller::Open(id), Holder::Lease(o)) => self.open_lease.get(&id) == Some(o),
            _ => false,
        }
    }

    /// Only directory leases cache a listing that a change to a child makes
    /// stale (MS-FSA 2.1.4.12 PARENT_OBJECT names the parent's oplock).
    fn is_directory_lease(&self, h: &Holder) -> bool {
        matches!(h, Holder::Lease(o) if self.leases.get(o).is_some_and(|l| l.is_directory))
    }

    /// Is the directory lease `h` the ParentLeaseKey of the caller's child?
    /// Keys are compared within one ClientGuid, as lease keys are.
    fn is_parent_owner(&self, caller: Caller, h: &Holder) -> bool {
        let Holder::Lease(dir) = h else { return false };
        match caller {
            Caller::Parent(client_guid, key) => *dir == LeaseOwner { client_guid, key },
            Caller::Open(id) => self
                .open_lease
                .get(&id)
                .filter(|o| o.client_guid == dir.client_guid)
                .and_then(|o| self.leases.get(o))
                .is_some_and(|l| l.parent_key == Some(dir.key.0)),
            Caller::Lease(..) | Caller::Nobody => false,
        }
    }

    /// `open` as the maker of a change to a child, for use after it is
    /// closed: the ParentLeaseKey of its lease, if it named one.
    pub fn child_caller(&self, open: OpenId) -> Caller {
        let owner = self.open_lease.get(&open);
        match owner.and_then(|o| Some((o.client_guid, self.leases.get(o)?.parent_key?))) {
            Some((client_guid, parent)) => Caller::Parent(client_guid, LeaseKey(parent)),
            None => Caller::Nobody,
        }
    }

    /// The directories whose leases still cache something (R or RH, or a
    /// break of it in progress): the ones a change to a child found only
    /// by its object (NFS SETATTR, WRITE) may have to break.
    pub fn leased_directories(&self) -> Vec<FileKey> {
        let mut dirs: Vec<FileKey> = self
            .directory_leases
            .iter()
            .filter_map(|o| self.leases.get(o))
            .filter(|l| !l.caching.state.is_none())
            .map(|l| l.file)
            .collect();
        dirs.sort_unstable();
        dirs.dedup();
        dirs
    }

    /// Takes `remove` from a holder: starts a break, or narrows the one in
    /// progress without a new notification.
    fn apply(&mut self, h: Holder, kind: HolderKind, remove: LeaseState, chained: bool, now: Instant) {
        let Some(c) = self.caching_mut(&h) else { return };
        let mut target = c.target().without(remove);
        if kind == HolderKind::Oplock {
            target = oplock::oplock_target(c.state, target);
        }
        if c.breaking {
            c.required = c.required.intersect(target).normalized();
        } else if target != c.state {
            self.start_break(h, target, chained, now);
        }
    }

    /// Sends a break from the holder's state to `target` (MS-SMB2 3.3.4.7).
    /// Without W or H no ack is needed and the holder drops at once.
    /// `chained`: the next step of a break already announced (an ack left
    /// more than is now required); a v2 lease keeps the epoch that break
    /// announced (smbtorture smb2.lease.v2_breaking3).
    fn start_break(&mut self, h: Holder, target: LeaseState, chained: bool, now: Instant) {
        if self.purge_if_disconnected(h, now) {
            return;
        }
        let id = self.next_break + 1;
        let timeout = self.break_timeout;
        let Some(c) = self.caching_mut(&h) else { return };
        let current = c.state;
        let ack_required = current.intersects(LeaseState::W.union(LeaseState::H));
        if ack_required {
            c.breaking = true;
            c.break_to = target;
            c.required = target;
            c.break_id = id;
            c.chained = chained;
            self.next_break = id;
            self.breaks.insert(id, h);
            self.set_deadline(id, now.checked_add(timeout).unwrap_or(now));
        } else {
            c.state = target;
        }
        self.counters.breaks_sent += 1;
        let n = match h {
            Holder::Lease(owner) => {
                let Some(l) = self.leases.get_mut(&owner) else { return };
                if !chained {
                    l.bump_epoch();
                }
                let (epoch, version) = (l.notification_epoch(), l.version);
                let opens: Vec<OpenId> = l.opens.iter().rev().copied().collect();
                let mut conns: Vec<ConnId> = Vec::new();
                for c in opens.iter().filter_map(|o| self.opens.get(o)).map(|e| e.conn) {
                    if !conns.contains(&c) {
                        conns.push(c);
                    }
                }
                let to = BreakTarget::Lease { client_guid: owner.client_guid, key: owner.key, conns, opens };
                BreakNotification { target: to, current, new: target, epoch, ack_required, version }
            }
            Holder::Oplock(open) => {
                let conn = self.opens.get(&open).map(|e| e.conn).unwrap_or(ConnId(0));
                let level = OplockLevel::from_state(target).to_wire();
                let to = BreakTarget::Oplock { open, conn, level };
                BreakNotification {
                    target: to,
                    current,
                    new: target,
                    epoch: 0,
                    ack_required,
                    version: LeaseVersion::V1,
                }
            }
        };
        tracing::debug!(?n, "break");
        if !ack_required && let Holder::Oplock(open) = h {
            self.prune_oplock(open);
        }
        self.notifications.push_back((self.planned, n));
        self.planned += 1;
    }

    /// Ends the pending break of `h` with `state` (ack or timeout). If the
    /// holder still holds more than a later conflict requires, the next
    /// break goes out at once (chained breaks).
    fn resolve(&mut self, h: Holder, state: LeaseState, now: Instant) {
        let Some(c) = self.caching_mut(&h) else { return };
        let id = c.break_id;
        c.state = state;
        c.breaking = false;
        let required = c.required;
        self.breaks.remove(&id);
        self.clear_deadline(id);
        if !state.is_subset_of(required) {
            let mut next = state.intersect(required).normalized();
            if let Holder::Oplock(_) = h {
                next = oplock::oplock_target(state, next);
            }
            self.start_break(h, next, true, now);
        }
    }

    /// Hands every waiter whose dependencies are gone to the wake-up queue.
    fn release(&mut self, now: Instant) {
        self.release_from(None, now);
    }

    /// [`LeaseTable::release`] after an ack of lease `acked`: the waiters
    /// it released are remembered as continuing its break.
    fn release_from(&mut self, acked: Option<LeaseOwner>, now: Instant) {
        let (leases, oplocks) = (&self.leases, &self.oplocks);
        for w in self.waiters.take_ready(|h, serial| held_by(leases, oplocks, h, serial)) {
            let waited = now.saturating_duration_since(w.parked_at);
            self.counters.time_parked += waited;
            self.counters.waits.observe(waited);
            if let Some(o) = acked
                && w.deps.iter().any(|(h, _, _)| *h == Holder::Lease(o))
            {
                if self.resumed_after_ack.len() >= MAX_RESUMED_AFTER_ACK {
                    self.resumed_after_ack.pop_first();
                }
                self.resumed_after_ack.insert(w.token, o);
            }
            self.woken.push_back(w.token);
        }
    }

    /// The last open of a lease closed: the lease goes, and a pending break
    /// completes as NONE.
    fn free_lease(&mut self, owner: LeaseOwner) {
        let Some(l) = self.leases.remove(&owner) else { return };
        self.directory_leases.remove(&owner);
        if l.caching.breaking {
            self.breaks.remove(&l.caching.break_id);
            self.clear_deadline(l.caching.break_id);
        }
        if let Some(set) = self.leases_on.get_mut(&l.file) {
            set.remove(&owner);
            if set.is_empty() {
                self.leases_on.remove(&l.file);
            }
        }
    }

    /// An oplock at NONE with no break pending is no oplock.
    fn prune_oplock(&mut self, open: OpenId) {
        if self.oplocks.get(&open).is_some_and(|c| c.state.is_none() && !c.breaking) {
            self.oplocks.remove(&open);
        }
    }

    fn set_deadline(&mut self, id: u64, at: Instant) {
        self.clear_deadline(id);
        self.break_at.insert(id, at);
        self.deadlines.insert((at, id));
    }

    fn clear_deadline(&mut self, id: u64) {
        if let Some(at) = self.break_at.remove(&id) {
            self.deadlines.remove(&(at, id));
        }
    }
}
