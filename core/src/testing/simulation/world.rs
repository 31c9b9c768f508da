//! One seeded workload: a Server over MemoryFs, a few SMB clients and NFS
//! clients, and a virtual clock, all driven by one seeded generator. Every
//! step is one client action or one clock move; after it the outputs are
//! routed to the clients in order and the invariants are checked.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::config::{Config, NfsBreakPolicy};
use crate::framing::{Transport, encode_frame};
use crate::id::{ConnId, Protocol};
use crate::io::{IoOp, IoRequest, IoResult};
use crate::lease::{ClientGuid, LeaseKey, LeaseOwner, LeaseState};
use crate::nfs::PROG_NFS;
use crate::nfs::nfs3::args::{CreateHow, DirOpArgs, Nfs3Args, StableHow};
use crate::nfs::nfs3::attrs::Sattr3;
use crate::nfs::nfs3::fh::NfsFh3;
use crate::nfs::rpc::{self, AcceptStat, AuthSys, Credentials, ReplyHeader};
use crate::nfs::xdr::{XdrReader, XdrWriter};
use crate::output::Output;
use crate::rng::Rng;
use crate::server::Server;
use crate::smb::status;
use crate::smb::wire::create::disposition;
use crate::smb::wire::create_context::{CreateContext, ResponseContext};
use crate::smb::wire::header::{FLAG_ASYNC, command};
use crate::smb::wire::oplock_break::{LeaseBreakNotification, OplockBreak, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED};
use crate::testing::smb_client::{self as peer, Msg};
use crate::time::Timespec;
use crate::vfs::{CreateAttr, MemoryFs, ObjectId, VfsError};

use super::clients::{Break, Durability, DurableHandle, NfsClient, NfsReq, SmbClient, SmbOpen, SmbReq};
use super::invariants::{self, Before, Resolver, Who, Writer};
use super::model::Model;

/// The names the clients fight over; the first three exist at the start.
const NAMES: [&str; 4] = ["a.txt", "b.txt", "c.txt", "d.txt"];
/// Named streams opened beside them (MS-FSCC 2.1.5.3); d.txt's makes the
/// file when it is missing.
const STREAMS: [&str; 3] = ["a.txt:s1", "b.txt:Zone.Identifier", "d.txt:s1"];
/// FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM (MS-FSCC 2.6), the
/// attributes the model follows.
const HIDDEN_SYSTEM: u32 = 0x6;
pub(super) const BREAK_TIMEOUT: Duration = Duration::from_secs(35);
const MAX_OPENS: usize = 6;
const NFS3ERR_JUKEBOX: u32 = 10008;
const NFS3ERR_ACCES: u32 = 13;

/// The SMB accounts of every workload: name, password, uid, primary gid,
/// supplementary groups (u2000 is in u1000's group).
const USERS: [(&str, &str, u32, u32, &[u32]); 2] =
    [("u1000", "Pw1000", 1000, 1000, &[]), ("u2000", "Pw2000", 2000, 2000, &[1000])];
/// What guest and anonymous sessions, and root squashed by NFS, act as.
const NOBODY: u32 = 65534;
/// Owners and modes the initial files get: readable, writable, owner-only,
/// group-shared, READONLY (no owner write bit) with others writing.
const OWNERS: [u32; 3] = [1000, 2000, NOBODY];
const MODES: [u32; 7] = [0o666, 0o644, 0o640, 0o660, 0o600, 0o444, 0o606];

/// The identity of a session of `user` (an index in USERS), or of a guest.
fn smb_who(user: Option<usize>) -> Who {
    match user.and_then(|u| USERS.get(u)) {
        Some((_, _, uid, gid, groups)) => {
            Who { uid: *uid, groups: [*gid].iter().chain(groups.iter()).copied().collect() }
        }
        None => Who { uid: NOBODY, groups: vec![NOBODY] },
    }
}

/// The AUTH_SYS identity an NFS client sends, and who the export's root
/// squashing makes of it.
fn nfs_cred(uid: u32) -> (AuthSys, Who) {
    let groups: Vec<u32> = USERS.iter().find(|u| u.2 == uid).map_or(vec![], |u| u.4.to_vec());
    let sys = AuthSys { stamp: 1, machinename: b"sim".to_vec(), uid, gid: uid, gids: groups.clone() };
    let who = match uid {
        0 => Who { uid: NOBODY, groups: vec![NOBODY] },
        _ => Who { uid, groups: [uid].into_iter().chain(groups).collect() },
    };
    (sys, who)
}

pub(super) struct World {
    server: Server,
    now: Instant,
    rng: Rng,
    smb: Vec<SmbClient>,
    nfs: Vec<NfsClient>,
    model: Model,
    root: ObjectId,
    /// Connections the clients hung up: nothing may be sent to them.
    closed: BTreeSet<ConnId>,
    before: Before,
    resolver: Resolver,
    /// Storage requests the server handed out and the simulated storage has
    /// not answered yet: answered later, in any order, some with faults.
    io_held: Vec<IoRequest>,
    /// The NFS write verifier last seen, and the one a failed COMMIT must
    /// have replaced (RFC 1813 3.3.21).
    verf: Option<[u8; 8]>,
    verf_must_change: Option<[u8; 8]>,
    pub trace: Vec<String>,
    pub stats: Stats,
    /// The account each SMB client logs on as (an index in USERS; None:
    /// anonymous), and the AUTH_SYS uid each NFS client sends.
    smb_users: Vec<Option<usize>>,
    nfs_uids: Vec<u32>,
}

/// What a workload exercised, summed over seeds to show the walk reaches
/// the interesting cases.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Stats {
    pub steps: u64,
    pub lease_breaks: u64,
    pub oplock_breaks: u64,
    pub acks: u64,
    pub wrong_acks: u64,
    pub interim: u64,
    pub smb_writes: u64,
    pub nfs_writes: u64,
    /// Writes that landed in a later step than the one that sent them
    /// (parked behind a break).
    pub writes_after_wait: u64,
    pub reads_checked: u64,
    pub jukebox: u64,
    pub disconnects: u64,
    pub timeouts: u64,
    pub notifies: u64,
    pub chains: u64,
    /// Storage requests answered, out of arrival order, with an error
    /// (EIO, ENOSPC), as short writes, and after their client left.
    pub io_done: u64,
    pub io_reordered: u64,
    pub io_faults: u64,
    pub io_short: u64,
    pub io_orphans: u64,
    /// READ replies the "adapter" took from the completion and delivered
    /// before the core heard of it (`IoCompletion::take_reply`).
    pub io_replies_taken: u64,
    pub commit_failures: u64,
    /// Opens and NFS calls refused for want of permission.
    pub denied: u64,
    /// Durable opens still waiting for their client when every client had
    /// left (they go at their timeout).
    pub durable_kept: u64,
    /// Durable opens taken back on a new connection, and reconnects refused
    /// (past the timeout, or closed by a conflict meanwhile).
    pub durable_reclaimed: u64,
    pub durable_refused: u64,
    /// Acknowledged writes to named streams, and SET_INFOs of HIDDEN and
    /// SYSTEM.
    pub stream_writes: u64,
    pub attributes_set: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.steps += o.steps;
        self.lease_breaks += o.lease_breaks;
        self.oplock_breaks += o.oplock_breaks;
        self.acks += o.acks;
        self.wrong_acks += o.wrong_acks;
        self.interim += o.interim;
        self.smb_writes += o.smb_writes;
        self.nfs_writes += o.nfs_writes;
        self.writes_after_wait += o.writes_after_wait;
        self.reads_checked += o.reads_checked;
        self.jukebox += o.jukebox;
        self.disconnects += o.disconnects;
        self.timeouts += o.timeouts;
        self.notifies += o.notifies;
        self.chains += o.chains;
        self.io_done += o.io_done;
        self.io_reordered += o.io_reordered;
        self.io_faults += o.io_faults;
        self.io_short += o.io_short;
        self.io_orphans += o.io_orphans;
        self.io_replies_taken += o.io_replies_taken;
        self.commit_failures += o.commit_failures;
        self.denied += o.denied;
        self.durable_kept += o.durable_kept;
        self.durable_reclaimed += o.durable_reclaimed;
        self.durable_refused += o.durable_refused;
        self.stream_writes += o.stream_writes;
        self.attributes_set += o.attributes_set;
    }
}

fn pick<T: Copy>(rng: &mut Rng, from: &[T]) -> T {
    from[rng.u32() as usize % from.len()]
}

impl World {
    pub fn new(seed: u64) -> Result<Self, String> {
        let mut rng = Rng::from_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x51);
        let mut config = Config { break_timeout: BREAK_TIMEOUT, ..Config::default() };
        for (name, pw, uid, gid, groups) in USERS {
            config.smb.users.push(crate::config::User::new(name, pw).with_ids(uid, gid, groups.to_vec()));
        }
        config.limits.unauthenticated_timeout = Duration::from_secs(24 * 3600);
        // Clients here may stay quiet for minutes of simulated time, and a
        // close by the server counts as a failure.
        config.limits.nfs_idle_timeout = None;
        let policy = if rng.u32() % 4 == 0 { NfsBreakPolicy::Jukebox } else { NfsBreakPolicy::Wait };
        for e in &mut config.nfs.exports {
            e.policy = policy;
        }
        let base = Instant::now();
        let server = Server::new(config, Box::new(MemoryFs::new()), seed, base);
        let mut model = Model::default();
        let root = server.vfs().root();
        for name in &NAMES[..3] {
            let t = Timespec::new(1, 0);
            let content: Vec<u8> = (0..rng.u32() % 24).map(|_| rng.u32() as u8).collect();
            let vfs = server.vfs();
            let owner = pick(&mut rng, &OWNERS);
            let mode = pick(&mut rng, &MODES);
            let a =
                vfs.create(root, name, CreateAttr { mode, uid: owner, gid: owner }, t).map_err(|e| e.to_string())?;
            vfs.write(a.id, 0, &content, t).map_err(|e| e.to_string())?;
            model.set(a.id, content);
        }
        let n_smb = 2 + rng.u32() as usize % 2;
        let n_nfs = 1 + rng.u32() as usize % 2;
        // Each SMB client logs on as one of the users or anonymously; each
        // NFS client sends one uid (0 is squashed to nobody).
        let smb_users: Vec<Option<usize>> = (0..n_smb).map(|_| pick(&mut rng, &[None, Some(0), Some(1)])).collect();
        let nfs_uids: Vec<u32> = (0..n_nfs).map(|_| pick(&mut rng, &[0, 1000, 2000, 3000])).collect();
        let mut w = Self {
            server,
            now: base,
            rng,
            smb: (0..n_smb).map(SmbClient::new).collect(),
            nfs: Vec::new(),
            model,
            root,
            closed: BTreeSet::new(),
            before: Before::default(),
            resolver: Resolver::Nothing,
            io_held: Vec::new(),
            verf: None,
            verf_must_change: None,
            stats: Stats::default(),
            trace: vec![format!(
                "seed {seed}: {n_smb} SMB clients as {smb_users:?}, {n_nfs} NFS clients as uids {nfs_uids:?}, NFS policy {policy:?}"
            )],
            smb_users,
            nfs_uids,
        };
        for i in 0..n_smb {
            w.smb_connect(i)?;
        }
        for j in 0..n_nfs {
            let conn = w.nfs_accept(j)?;
            w.nfs.push(NfsClient { conn, xid: 0, outstanding: Default::default() });
        }
        invariants::check_state(&w.server, &w.model)?;
        Ok(w)
    }

    /// Runs `steps` random steps, then lets every break time out and checks
    /// that everything was answered and everything can be torn down.
    pub fn run(&mut self, steps: usize) -> Result<(), String> {
        for n in 0..steps {
            self.stats.steps += 1;
            self.step().map_err(|e| format!("step {n}: {e}"))?;
        }
        self.drain()
    }

    fn step(&mut self) -> Result<(), String> {
        self.before = self.snapshot();
        self.resolver = Resolver::Nothing;
        match self.rng.u32() % 100 {
            0..45 => self.smb_step()?,
            45..65 => self.nfs_step()?,
            65..82 => self.storage_step(false)?,
            _ => {
                let d = match self.rng.u32() % 10 {
                    0..6 => Duration::from_millis(1 + u64::from(self.rng.u32() % 2000)),
                    6..9 => Duration::from_secs(1 + u64::from(self.rng.u32() % 30)),
                    _ => BREAK_TIMEOUT + Duration::from_millis(u64::from(self.rng.u32() % 5000)),
                };
                self.advance(d)?;
            }
        }
        invariants::check_state(&self.server, &self.model)
    }

    /// Every break times out; then every request must have been answered,
    /// and with every client gone the lease table, the deadline table and
    /// the connection table must be empty.
    fn drain(&mut self) -> Result<(), String> {
        // Closing the watched directories answers their CHANGE_NOTIFYs.
        for i in 0..self.smb.len() {
            if let Some(fid) = self.smb[i].dir.take() {
                self.smb_send(i, command::CLOSE, &peer::close_body(fid), SmbReq::Close)?;
            }
        }
        for _ in 0..4 {
            self.before = self.snapshot();
            self.answer_all_storage()?;
            self.before = self.snapshot();
            self.advance(BREAK_TIMEOUT + Duration::from_secs(1))?;
            invariants::check_state(&self.server, &self.model)?;
        }
        self.answer_all_storage()?;
        let core = self.server.core();
        if core.leases.parked() != 0 {
            let waiting: Vec<String> = self
                .smb
                .iter()
                .enumerate()
                .flat_map(|(i, c)| c.outstanding.iter().map(move |(mid, r)| format!("smb{i} mid {mid} {r:?}")))
                .chain(
                    self.nfs
                        .iter()
                        .enumerate()
                        .flat_map(|(j, c)| c.outstanding.keys().map(move |x| format!("nfs{j} xid {x}"))),
                )
                .collect();
            return Err(format!(
                "{} operations still parked after every break timed out; unanswered: {waiting:?}; holders {:?}",
                core.leases.parked(),
                core.leases.holder_views()
            ));
        }
        for c in &self.smb {
            if let Some((mid, req)) = c.outstanding.iter().next() {
                return Err(format!("SMB request {mid} ({req:?}) of client {:?} never answered", c.guid[0]));
            }
        }
        for c in &self.nfs {
            if let Some((xid, req)) = c.outstanding.iter().next() {
                return Err(format!("NFS call {xid} ({req:?}) never answered"));
            }
        }
        let conns: Vec<ConnId> =
            self.smb.iter().filter_map(|c| c.conn).chain(self.nfs.iter().map(|c| c.conn)).collect();
        for conn in conns {
            self.server.handle_closed(conn, self.now);
            self.closed.insert(conn);
        }
        self.pump()?;
        // Durable opens wait for their clients until their timeout (60 s at
        // most here), then close like the rest.
        self.stats.durable_kept = self.server.core().leases.preserved_count() as u64;
        self.advance(Duration::from_secs(61))?;
        if self.server.io_outstanding() != 0 || !self.io_held.is_empty() {
            return Err(format!("{} storage requests outstanding at the end", self.server.io_outstanding()));
        }
        let core = self.server.core();
        if !core.leases.holder_views().is_empty() || core.leases.pending_break_ids().next().is_some() {
            return Err(format!("caching left after every client left: {:?}", core.leases.holder_views()));
        }
        if core.leases.poll_timeout().is_some() {
            return Err("break or durable deadlines left after every client left".into());
        }
        if self.server.smb_shared().durable.preserved() != 0 || !self.server.smb_shared().files.is_empty() {
            return Err("SMB open state left after every durable open timed out".into());
        }
        self.stats.timeouts = self.server.stats().breaks_timed_out;
        if self.server.connection_count() != 0 {
            return Err(format!("{} connections left", self.server.connection_count()));
        }
        Ok(())
    }

    fn note(&mut self, s: String) {
        self.trace.push(format!("{:>9.3}s {s}", (self.now - self.server.core().clock.start()).as_secs_f64()));
    }

    // ---- the clock ----

    /// Moves the clock by `d`, firing each deadline at its own instant.
    fn advance(&mut self, d: Duration) -> Result<(), String> {
        let target = self.now + d;
        self.note(format!("clock +{d:?}"));
        self.resolver = Resolver::Clock(target);
        while let Some(at) = self.server.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.server.handle_timeout(self.now);
            self.pump()?;
        }
        self.now = target;
        Ok(())
    }

    // ---- storage ----

    /// Answers one held storage request (not always the oldest): mostly as
    /// it is, sometimes with EIO or ENOSPC, a write sometimes short.
    fn storage_step(&mut self, clean: bool) -> Result<(), String> {
        if self.io_held.is_empty() {
            return Ok(());
        }
        let k = self.rng.u32() as usize % self.io_held.len();
        self.stats.io_reordered += u64::from(k != 0);
        let req = self.io_held.remove(k);
        let conn = req.conn();
        let orphan = self.closed.contains(&conn);
        let nfs_sync = matches!(req.op(), IoOp::Sync { .. }) && self.nfs.iter().any(|c| c.conn == conn);
        let write = match req.op() {
            // The simulation's clients send whole messages: data in memory.
            IoOp::Write { object, offset, data, .. } => data.as_bytes().map(|d| (*object, *offset, d.clone())),
            _ => None,
        };
        let roll = if clean { 0 } else { self.rng.u32() % 100 };
        let (mut c, fate) = match roll {
            0..84 => (req.run(), "ok"),
            84..90 => (req.fail(VfsError::Io("injected".into())), "EIO"),
            90..94 => (req.fail(VfsError::NoSpace), "ENOSPC"),
            _ => match &write {
                Some((_, _, d)) if d.len() > 1 => {
                    let n = 1 + self.rng.u32() as usize % (d.len() - 1);
                    self.stats.io_short += 1;
                    (req.run_short(n), "short")
                }
                _ => (req.run(), "ok"),
            },
        };
        self.stats.io_done += 1;
        self.stats.io_faults += u64::from(fate == "EIO" || fate == "ENOSPC");
        let what = if write.is_some() {
            "write"
        } else if nfs_sync {
            "commit"
        } else {
            "read/flush"
        };
        self.note(format!(
            "storage answers {what} {} of {conn:?} {fate}{}",
            c.id().0,
            if orphan { " (orphan)" } else { "" }
        ));
        let lost = matches!(&c.result, IoResult::Sync(Err(e)) if !matches!(e, VfsError::Stale | VfsError::NotFound));
        if lost && nfs_sync && !orphan {
            self.stats.commit_failures += 1;
            self.verf_must_change = self.verf_must_change.or(self.verf);
        }
        // A write whose client has gone still lands: nobody is told, but the
        // file has it.
        if let (true, Some((object, offset, data)), IoResult::Write(Ok((n, _)))) = (orphan, &write, &c.result) {
            self.stats.io_orphans += 1;
            self.model.write(*object, *offset, data.get(..*n).unwrap_or_default())?;
        }
        self.resolver = Resolver::Nothing;
        // As the adapters do, half the time: the reply the worker framed
        // leaves from the worker, before the core hears of the completion
        // (to a connection that is gone it goes nowhere).
        if self.rng.u32() % 2 == 0 {
            if let Some(reply) = c.take_reply() {
                self.stats.io_replies_taken += 1;
                if !orphan {
                    self.transmit(conn, reply.into_bytes().map_err(|e| format!("reply read back: {e}"))?)?;
                }
            }
        }
        self.server.handle_io(c, self.now);
        self.pump()
    }

    /// Answers every held storage request, and those their answers cause.
    fn answer_all_storage(&mut self) -> Result<(), String> {
        while !self.io_held.is_empty() {
            self.before = self.snapshot();
            self.storage_step(true)?;
            invariants::check_state(&self.server, &self.model)?;
        }
        Ok(())
    }

    /// Checks the write verifier of a WRITE or COMMIT reply: it changes
    /// exactly when a COMMIT failed since it was last seen.
    fn check_verf(&mut self, verf: [u8; 8]) -> Result<(), String> {
        match (self.verf, self.verf_must_change.take()) {
            (_, Some(old)) if old == verf => {
                return Err("the write verifier did not change after a COMMIT failed".into());
            }
            (Some(v), None) if v != verf => return Err("the write verifier changed without a failed COMMIT".into()),
            _ => {}
        }
        self.verf = Some(verf);
        Ok(())
    }

    // ---- SMB ----

    fn smb_connect(&mut self, i: usize) -> Result<(), String> {
        let peer: SocketAddr = ([127, 0, 0, 1], 40000 + i as u16).into();
        let conn = self.server.accept(Protocol::Smb, peer, self.now).map_err(|e| e.to_string())?;
        let c = &mut self.smb[i];
        let durable = std::mem::take(&mut c.durable);
        *c = SmbClient { conn: Some(conn), durable, ..SmbClient::new(i) };
        self.smb_setup(i, command::NEGOTIATE, &peer::negotiate_body(self.smb[i].guid))?;
        let r = self.smb_setup(i, command::SESSION_SETUP, &peer::session_setup_body(&peer::ntlm_negotiate()))?;
        self.smb[i].session = r.hdr.session_id;
        let token = match self.smb_users[i].and_then(|u| USERS.get(u)) {
            Some((name, pw, ..)) => peer::ntlm_user_authenticate(peer::security_buffer(&r.body), name, pw).0,
            None => peer::ntlm_anonymous_authenticate(),
        };
        let r = self.smb_setup(i, command::SESSION_SETUP, &peer::session_setup_body(&token))?;
        if r.hdr.status != status::SUCCESS {
            return Err(format!("login as {:?} failed: {:#x}", self.smb_users[i], r.hdr.status));
        }
        let r = self.smb_setup(i, command::TREE_CONNECT, &peer::tree_connect_body("\\\\127.0.0.1\\SHARE"))?;
        if r.hdr.status != status::SUCCESS {
            return Err(format!("tree connect failed: {:#x}", r.hdr.status));
        }
        self.smb[i].tree = r.hdr.tree_id;
        Ok(())
    }

    /// A setup request answered at once; its response.
    fn smb_setup(&mut self, i: usize, cmd: u16, body: &[u8]) -> Result<Msg, String> {
        let conn = self.smb[i].conn.ok_or("not connected")?;
        let c = &mut self.smb[i];
        let mid = c.mid;
        c.mid += 1;
        let framed = peer::request(cmd, mid, c.session, c.tree, body);
        self.server.handle_input(conn, &framed, self.now);
        let mut reply = None;
        while let Some(o) = self.server.poll_output_io_inline(self.now) {
            match o {
                Output::Transmit { conn: to, data } if to == conn => {
                    reply = peer::split(&data).into_iter().find(|m| m.hdr.message_id == mid);
                }
                other => return Err(format!("unexpected output during setup: {other:?}")),
            }
        }
        reply.ok_or_else(|| format!("no response to setup command {cmd}"))
    }

    fn smb_send(&mut self, i: usize, cmd: u16, body: &[u8], req: SmbReq) -> Result<(), String> {
        let Some(conn) = self.smb[i].conn else { return Ok(()) };
        let c = &mut self.smb[i];
        let mid = c.mid;
        c.mid += 1;
        c.outstanding.insert(mid, req);
        let framed = peer::request(cmd, mid, c.session, c.tree, body);
        self.server.handle_input(conn, &framed, self.now);
        self.pump()
    }

    fn smb_step(&mut self) -> Result<(), String> {
        let i = self.rng.u32() as usize % self.smb.len();
        let Some(conn) = self.smb[i].conn else {
            self.note(format!("smb{i} reconnects"));
            self.smb_connect(i)?;
            return self.smb_reclaim(i);
        };
        let roll = self.rng.u32() % 100;
        let has_opens = !self.smb[i].opens.is_empty();
        match roll {
            0..6 => self.smb_watch(i, conn),
            6..10 => self.smb_chain(i),
            25..29 if has_opens => self.smb_set_attributes(i),
            29..45 if has_opens => self.smb_write(i),
            45..60 if has_opens => self.smb_read(i),
            60..72 if has_opens => {
                self.resolver = Resolver::Conn(conn);
                let k = self.rng.u32() as usize % self.smb[i].opens.len();
                let o = self.smb[i].opens.remove(k);
                self.smb[i].closed(o.fid);
                self.note(format!("smb{i} closes {:?} (object {})", o.fid.volatile, o.object));
                self.smb_send(i, command::CLOSE, &peer::close_body(o.fid), SmbReq::Close)
            }
            72..90 if !self.smb[i].breaks.is_empty() => {
                self.resolver = Resolver::Conn(conn);
                self.smb_ack(i)
            }
            90..95 => {
                // An acknowledgment nobody asked for.
                self.resolver = Resolver::Conn(conn);
                let key = pick(&mut self.rng, &self.smb[i].keys);
                let state = self.rng.u32() & 7;
                self.note(format!("smb{i} acks lease {:x} with {state} unasked", key[0]));
                self.smb_send(i, command::OPLOCK_BREAK, &peer::ack_body(key, state), SmbReq::Ack)
            }
            95..100 => {
                self.resolver = Resolver::Conn(conn);
                self.note(format!("smb{i} disconnects"));
                self.stats.disconnects += 1;
                self.server.handle_closed(conn, self.now);
                self.closed.insert(conn);
                self.smb[i].gone();
                self.pump()
            }
            _ if self.smb[i].opens.len() >= MAX_OPENS => {
                self.resolver = Resolver::Conn(conn);
                let o = self.smb[i].opens.remove(0);
                self.smb[i].closed(o.fid);
                self.smb_send(i, command::CLOSE, &peer::close_body(o.fid), SmbReq::Close)
            }
            _ => self.smb_open(i),
        }
    }

    /// Opens the share root, or asks for CHANGE_NOTIFY on it, or closes it
    /// (which answers waiting requests with NOTIFY_CLEANUP).
    fn smb_watch(&mut self, i: usize, conn: ConnId) -> Result<(), String> {
        match self.smb[i].dir {
            None => {
                self.note(format!("smb{i} opens the root directory"));
                self.smb_send(i, command::CREATE, &peer::open_dir_body(""), SmbReq::OpenDir)
            }
            Some(fid) if self.rng.u32() % 4 == 0 => {
                self.resolver = Resolver::Conn(conn);
                self.note(format!("smb{i} closes the root directory"));
                self.smb[i].dir = None;
                self.smb_send(i, command::CLOSE, &peer::close_body(fid), SmbReq::Close)
            }
            Some(fid) => {
                let max = pick(&mut self.rng, &[64u32, 4096]);
                self.note(format!("smb{i} watches the root ({max} bytes)"));
                self.stats.notifies += 1;
                let body = peer::change_notify_body(fid, 0x0FFF, self.rng.u32() % 2 == 0, max);
                self.smb_send(i, command::CHANGE_NOTIFY, &body, SmbReq::Notify)
            }
        }
    }

    /// CREATE (OPEN) + QUERY_INFO + CLOSE as one related compound, as
    /// Windows and smbclient stat a file.
    fn smb_chain(&mut self, i: usize) -> Result<(), String> {
        let Some(conn) = self.smb[i].conn else { return Ok(()) };
        let name = pick(&mut self.rng, &NAMES);
        self.note(format!("smb{i} stats {name} (compound)"));
        let related = crate::smb::wire::codec::FileId::RELATED;
        let create = peer::create_with(name, 0, None, peer::SHARE_ALL, disposition::OPEN);
        let elements = [
            (command::CREATE, create),
            (command::QUERY_INFO, peer::query_info_body(related, 1, 5)),
            (command::CLOSE, peer::close_body(related)),
        ];
        let c = &mut self.smb[i];
        let mid = c.mid;
        c.mid += 3;
        for m in mid..mid + 3 {
            c.outstanding.insert(m, SmbReq::Chain);
        }
        let framed = peer::related_chain(&elements, mid, c.session, c.tree);
        self.stats.chains += 1;
        self.server.handle_input(conn, &framed, self.now);
        self.pump()
    }

    /// SET_INFO FileBasicInformation through one of the client's opens of
    /// a file: HIDDEN, SYSTEM, both, or NORMAL (none).
    fn smb_set_attributes(&mut self, i: usize) -> Result<(), String> {
        let k = self.rng.u32() as usize % self.smb[i].opens.len();
        let o = self.smb[i].opens[k].clone();
        let attributes = pick(&mut self.rng, &[0x80u32, 0x2, 0x4, 0x6, 0x22]);
        if self.model.is_stream(o.object) {
            return Ok(());
        }
        self.note(format!("smb{i} sets attributes {attributes:#x} of object {}", o.object));
        let body = peer::set_info_body(o.fid, 4, &peer::basic_info(attributes));
        self.smb_send(i, command::SET_INFO, &body, SmbReq::SetAttributes { object: o.object, attributes })
    }

    fn smb_open(&mut self, i: usize) -> Result<(), String> {
        let name = match self.rng.u32() % 4 {
            0 => pick(&mut self.rng, &STREAMS),
            _ => pick(&mut self.rng, &NAMES),
        };
        let (oplock, lease) = match self.rng.u32() % 10 {
            0..6 => {
                let key = pick(&mut self.rng, &self.smb[i].keys);
                let state = pick(&mut self.rng, &[LeaseState::R, LeaseState::RH, LeaseState::RW, LeaseState::RWH]);
                let mut l = peer::lease_v2(key, state.bits());
                if self.rng.u32() % 3 == 0 {
                    l.v2 = None;
                }
                (peer::OPLOCK_LEVEL_LEASE, Some(l))
            }
            6..9 => (pick(&mut self.rng, &[1u8, 8, 9]), None),
            _ => (0, None),
        };
        let share = if self.rng.u32() % 8 == 0 { 1 } else { peer::SHARE_ALL };
        let disp = if self.rng.u32() % 10 == 0 { disposition::OVERWRITE_IF } else { disposition::OPEN_IF };
        let what = match &lease {
            Some(l) => {
                format!("lease {:x} {} v{}", l.key[0], LeaseState::from_bits(l.state), 1 + u8::from(l.v2.is_some()))
            }
            None => format!("oplock {oplock}"),
        };
        self.note(format!("smb{i} opens {name} {what} share {share} disposition {disp}"));
        let key = lease.as_ref().map(|l| l.key);
        let lease_v1 = lease.as_ref().is_some_and(|l| l.v2.is_none());
        let mut ctxs: Vec<CreateContext> = lease.into_iter().map(CreateContext::Lease).collect();
        // Some opens ask to be durable: they outlive a disconnect until
        // their timeout or a conflict.
        let mut durable = None;
        if self.rng.u32() % 3 == 0 {
            let timeout = 1000 * (1 + self.rng.u32() % 60);
            let create_guid = self.rng.bytes::<16>();
            self.note(format!("smb{i} asks for a durable handle of {timeout} ms"));
            ctxs.push(CreateContext::DurableRequestV2 { timeout, flags: 0, create_guid });
            durable = Some(Durability { name, create_guid, lease_v1 });
        }
        let body = peer::create_with_contexts(name, oplock, &ctxs, share, disp);
        self.smb_send(i, command::CREATE, &body, SmbReq::Create { name, lease: key, durable })
    }

    /// Back on a new connection, the client takes its durable opens back
    /// (DH2C, MS-SMB2 3.3.5.9.12), or some of them: those it forgets wait
    /// for their timeout. One kept past its timeout, or closed because a
    /// conflict would have broken its caching, is OBJECT_NAME_NOT_FOUND.
    fn smb_reclaim(&mut self, i: usize) -> Result<(), String> {
        let handles = std::mem::take(&mut self.smb[i].durable);
        for d in handles {
            if self.rng.u32() % 4 == 0 {
                self.note(format!("smb{i} forgets durable {:?}", d.open.fid.persistent));
                continue;
            }
            let mut id = Vec::new();
            d.open.fid.encode(&mut id);
            let file_id: [u8; 16] = id.try_into().map_err(|_| "a FileId is 16 bytes")?;
            let mut ctxs = Vec::new();
            if let Some(key) = d.open.lease {
                let mut l = peer::lease_v2(key, 0);
                if d.lease_v1 {
                    l.v2 = None;
                }
                ctxs.push(CreateContext::Lease(l));
            }
            ctxs.push(CreateContext::DurableReconnectV2 { file_id, create_guid: d.create_guid, flags: 0 });
            self.note(format!("smb{i} reclaims durable {:?} of {}", d.open.fid.persistent, d.name));
            let body = peer::create_with_contexts(d.name, 0, &ctxs, peer::SHARE_ALL, disposition::OPEN);
            self.smb_send(i, command::CREATE, &body, SmbReq::Reconnect(d))?;
        }
        Ok(())
    }

    fn smb_write(&mut self, i: usize) -> Result<(), String> {
        let k = self.rng.u32() as usize % self.smb[i].opens.len();
        let o = self.smb[i].opens[k].clone();
        let offset = u64::from(self.rng.u32() % 48);
        let data: Vec<u8> = (0..1 + self.rng.u32() % 12).map(|_| self.rng.u32() as u8).collect();
        self.note(format!("smb{i} writes {} bytes at {offset} to object {}", data.len(), o.object));
        let body = peer::write_body(o.fid, offset, &data);
        let req =
            SmbReq::Write { object: o.object, open: o.open, lease: o.lease, offset, data, sent: self.stats.steps };
        self.smb_send(i, command::WRITE, &body, req)
    }

    fn smb_read(&mut self, i: usize) -> Result<(), String> {
        let k = self.rng.u32() as usize % self.smb[i].opens.len();
        let o = self.smb[i].opens[k].clone();
        let offset = u64::from(self.rng.u32() % 48);
        let len = 1 + self.rng.u32() % 32;
        self.note(format!("smb{i} reads {len} bytes at {offset} of object {}", o.object));
        self.smb_send(
            i,
            command::READ,
            &peer::read_body(o.fid, offset, len),
            SmbReq::Read { object: o.object, offset, len },
        )
    }

    /// Acknowledges one pending break: mostly as asked, sometimes wrongly
    /// (a state the break did not offer, an oplock level too high).
    fn smb_ack(&mut self, i: usize) -> Result<(), String> {
        let k = self.rng.u32() as usize % self.smb[i].breaks.len();
        let b = self.smb[i].breaks[k];
        let wrong = self.rng.u32() % 5 == 0;
        self.stats.acks += 1;
        self.stats.wrong_acks += u64::from(wrong);
        if !wrong {
            self.smb[i].breaks.remove(k);
        }
        match b {
            Break::Lease { key, to } => {
                let state = if wrong { to.union(LeaseState::W).union(LeaseState::R).bits() } else { to.bits() };
                self.note(format!("smb{i} acks lease {:x} break to {to} with {state}", key[0]));
                self.smb_send(i, command::OPLOCK_BREAK, &peer::ack_body(key, state), SmbReq::Ack)
            }
            Break::Oplock { fid, level } => {
                let level = if wrong { 9 } else { level };
                self.note(format!("smb{i} acks oplock {:?} with level {level}", fid.volatile));
                self.smb_send(i, command::OPLOCK_BREAK, &peer::oplock_ack_body(fid, level), SmbReq::Ack)
            }
        }
    }

    fn smb_message(&mut self, i: usize, conn: ConnId, msg: Msg) -> Result<(), String> {
        if msg.is_break() {
            let b = match msg.body.first() {
                Some(44) => {
                    let n = LeaseBreakNotification::decode(&msg.body).map_err(|e| e.to_string())?;
                    self.note(format!("smb{i} told: lease {:x} {} -> {}", n.key[0], n.current_state, n.new_state));
                    self.stats.lease_breaks += 1;
                    if n.flags & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED == 0 {
                        return Ok(());
                    }
                    Break::Lease { key: n.key, to: LeaseState::from_bits(n.new_state) }
                }
                _ => {
                    let n = OplockBreak::decode(&msg.body).map_err(|e| e.to_string())?;
                    let fid = crate::smb::wire::codec::FileId::decode(&n.file_id, 0).map_err(|e| format!("{e:?}"))?;
                    self.stats.oplock_breaks += 1;
                    self.note(format!("smb{i} told: oplock {:?} -> level {}", fid.volatile, n.level));
                    Break::Oplock { fid, level: n.level }
                }
            };
            self.smb[i].breaks.push(b);
            return Ok(());
        }
        let mid = msg.hdr.message_id;
        if msg.hdr.status == status::PENDING && msg.hdr.flags & FLAG_ASYNC != 0 {
            self.stats.interim += 1;
            return match self.smb[i].outstanding.contains_key(&mid) {
                true => Ok(()),
                false => Err(format!("interim response to smb{i} mid {mid} that is not outstanding")),
            };
        }
        let req = self.smb[i]
            .outstanding
            .remove(&mid)
            .ok_or_else(|| format!("response to smb{i} mid {mid} that is not outstanding (answered twice?)"))?;
        let st = msg.hdr.status;
        self.note(format!("smb{i} mid {mid} answered {st:#x}"));
        self.stats.denied += u64::from(st == status::ACCESS_DENIED);
        if let (SmbReq::Reconnect(d), false) = (&req, st == status::SUCCESS) {
            self.stats.durable_refused += 1;
            if st != status::OBJECT_NAME_NOT_FOUND {
                return Err(format!("reconnect of durable {:?} answered {st:#x}", d.open.fid.persistent));
            }
        }
        if st != status::SUCCESS {
            return Ok(());
        }
        match req {
            SmbReq::Create { name, lease, durable } => {
                let fid = msg.file_id();
                let (object, open) =
                    self.server.smb_open(conn, fid).ok_or("CREATE succeeded for an open the server does not have")?;
                let action = msg.body.get(4..8).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                // Anything but FILE_CREATED (2) opened an existing file for
                // reading and writing: the file's mode must allow it.
                if action != 2 {
                    invariants::check_smb_open(&self.server, object, &smb_who(self.smb_users[i]))?;
                }
                // FILE_CREATED (2) or FILE_OVERWRITTEN (3): the file is empty now.
                if action == 2 || action == 3 {
                    self.model.set(object, Vec::new());
                }
                // The stream's file, as the server keeps it (its name may
                // have moved or gone since).
                let file = self.server.smb_shared().files.get(&object).filter(|f| f.is_stream).map(|f| f.parent);
                match (name.contains(':'), file) {
                    (true, Some(file)) => self.model.stream_of(object, file),
                    (true, None) => return Err(format!("{name}: the server keeps no stream open of object {object}")),
                    // An overwrite replaces HIDDEN and SYSTEM with what it
                    // asked for (NORMAL here, MS-FSA 2.1.5.1.2).
                    (false, _) if action == 3 => self.model.set_attrs(object, 0),
                    (false, _) => {}
                }
                // A new file has no streams, whatever a removed file of its
                // name had (unless it is gone already).
                if action == 2 && !name.contains(':') {
                    let streams = self.server.vfs().list_streams(object).unwrap_or_default();
                    if !streams.is_empty() {
                        return Err(format!("{name}, created as object {object}, has streams {streams:?}"));
                    }
                }
                let o = SmbOpen { fid, object, open, lease };
                let granted = msg.create_contexts().iter().any(|c| matches!(c, ResponseContext::DurableV2 { .. }));
                if let (Some(d), true) = (durable, granted) {
                    let (name, create_guid, lease_v1) = (d.name, d.create_guid, d.lease_v1);
                    self.smb[i].durable.push(DurableHandle { open: o.clone(), name, create_guid, lease_v1 });
                }
                self.smb[i].opens.push(o);
            }
            SmbReq::Reconnect(mut d) => {
                // The same open (FileId.Persistent, lease-table open) under
                // a new FileId.Volatile, with what it cached.
                let fid = msg.file_id();
                let (object, open) = self
                    .server
                    .smb_open(conn, fid)
                    .ok_or("reconnect succeeded for an open the server does not have")?;
                if (fid.persistent, object, open) != (d.open.fid.persistent, d.open.object, d.open.open) {
                    return Err(format!("reconnect of {:?} gave another open {fid:?}", d.open.fid));
                }
                self.stats.durable_reclaimed += 1;
                d.open.fid = fid;
                self.smb[i].opens.push(d.open.clone());
                self.smb[i].durable.push(d);
            }
            SmbReq::Write { object, open, lease, offset, data, sent } => {
                self.stats.smb_writes += 1;
                self.stats.writes_after_wait += u64::from(sent != self.stats.steps);
                let guid = ClientGuid(self.smb[i].guid);
                let writer =
                    Writer::Smb { open, lease: lease.map(|k| LeaseOwner { client_guid: guid, key: LeaseKey(k) }) };
                self.landed(writer, object)?;
                // A short write stores what its Count says (MS-SMB2 2.2.22).
                let count = msg.body.get(4..8).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])) as usize;
                if count > data.len() {
                    return Err(format!("WRITE of {} bytes answered Count {count}", data.len()));
                }
                self.model.write(object, offset, &data[..count])?;
                self.stats.stream_writes += u64::from(self.model.is_stream(object));
            }
            SmbReq::Read { object, offset, len } => {
                self.stats.reads_checked += 1;
                let got = peer::read_response_data(&msg.body).ok_or("malformed READ response")?;
                if let Some(want) = self.model.read(object, offset, len)
                    && got != want
                {
                    return Err(format!("smb{i} read {got:?} at {offset} of {object}, the model has {want:?}"));
                }
            }
            SmbReq::SetAttributes { object, attributes } => {
                self.stats.attributes_set += 1;
                self.model.set_attrs(object, attributes & HIDDEN_SYSTEM)
            }
            SmbReq::OpenDir => self.smb[i].dir = Some(msg.file_id()),
            SmbReq::Close | SmbReq::Ack | SmbReq::Notify | SmbReq::Chain => {}
        }
        Ok(())
    }

    /// A write landed: check nobody else held W caching unbroken.
    fn landed(&self, writer: Writer, object: ObjectId) -> Result<(), String> {
        invariants::check_write(&self.server, &self.before, self.resolver, writer, object)
    }

    /// The lease table before a step, with each holder's connection.
    fn snapshot(&self) -> Before {
        let smb = &self.smb;
        Before::take(&self.server, |o| smb.iter().find(|c| c.guid == o.client_guid.0).and_then(|c| c.conn))
    }

    // ---- NFS ----

    fn nfs_accept(&mut self, j: usize) -> Result<ConnId, String> {
        let peer: SocketAddr = ([127, 0, 0, 1], 700 + j as u16).into();
        self.server.accept(Protocol::Nfs, peer, self.now).map_err(|e| e.to_string())
    }

    fn fh(&self, id: ObjectId) -> Option<crate::nfs::nfs3::fh::FhBytes> {
        let a = self.server.vfs().getattr(id).ok()?;
        Some(NfsFh3 { export: 0, epoch: 0, id, generation: a.generation }.to_fh())
    }

    fn dirop(&self, name: &str) -> Option<DirOpArgs> {
        Some(DirOpArgs { dir: self.fh(self.root)?, name: name.as_bytes().to_vec() })
    }

    fn nfs_step(&mut self) -> Result<(), String> {
        let j = self.rng.u32() as usize % self.nfs.len();
        let name = pick(&mut self.rng, &NAMES);
        let found = self.server.vfs().lookup(self.root, name).ok();
        let roll = self.rng.u32() % 100;
        let (args, req) = match (roll, found) {
            (0..30, Some(a)) => {
                let offset = u64::from(self.rng.u32() % 48);
                let data: Vec<u8> = (0..1 + self.rng.u32() % 12).map(|_| self.rng.u32() as u8).collect();
                let fh = self.fh(a.id).ok_or("no handle")?;
                let stable = if self.rng.u32() % 2 == 0 { StableHow::FileSync } else { StableHow::Unstable };
                let args = Nfs3Args::Write { fh, offset, count: data.len() as u32, stable, data: data.clone().into() };
                (args, NfsReq::Write { object: a.id, offset, data, sent: self.stats.steps })
            }
            (30..38, Some(a)) => {
                let size = u64::from(self.rng.u32() % 40);
                let fh = self.fh(a.id).ok_or("no handle")?;
                let attr = Sattr3 { size: Some(size), ..Sattr3::default() };
                (Nfs3Args::Setattr { fh, attr, guard: None }, NfsReq::Truncate { object: a.id, size })
            }
            (38..60, Some(a)) => {
                let offset = u64::from(self.rng.u32() % 48);
                let len = 1 + self.rng.u32() % 32;
                let fh = self.fh(a.id).ok_or("no handle")?;
                (Nfs3Args::Read { fh, offset, count: len }, NfsReq::Read { object: a.id, offset, len })
            }
            (72..84, _) => {
                let to = pick(&mut self.rng, &NAMES);
                let (Some(from), Some(to)) = (self.dirop(name), self.dirop(to)) else { return Ok(()) };
                (Nfs3Args::Rename { from, to }, NfsReq::Other)
            }
            (84..90, _) => (Nfs3Args::Remove(self.dirop(name).ok_or("no root")?), NfsReq::Other),
            (96..98, Some(a)) => (Nfs3Args::Getattr(self.fh(a.id).ok_or("no handle")?), NfsReq::Other),
            (90..96, Some(a)) => {
                let fh = self.fh(a.id).ok_or("no handle")?;
                (Nfs3Args::Commit { fh, offset: 0, count: 0 }, NfsReq::Commit)
            }
            (98..100, _) => {
                // The client hangs up (its parked calls go with it) and comes back.
                let old = self.nfs[j].conn;
                self.note(format!("nfs{j} reconnects"));
                self.stats.disconnects += 1;
                self.server.handle_closed(old, self.now);
                self.closed.insert(old);
                self.pump()?;
                let conn = self.nfs_accept(j)?;
                self.nfs[j] = NfsClient { conn, xid: 0, outstanding: Default::default() };
                return Ok(());
            }
            _ => {
                let how = CreateHow::Guarded(Sattr3 { mode: Some(0o666), ..Sattr3::default() });
                let where_ = self.dirop(name).ok_or("no root")?;
                (Nfs3Args::Create { where_, how }, NfsReq::Create { name: name.to_string() })
            }
        };
        self.note(format!("nfs{j} {}", describe(&args)));
        let c = &mut self.nfs[j];
        c.xid += 1;
        let xid = c.xid;
        c.outstanding.insert(xid, req);
        let cred = Credentials::Sys(nfs_cred(self.nfs_uids[j]).0);
        let mut w = XdrWriter::new();
        rpc::encode_call(&mut w, xid, PROG_NFS, 3, args.proc_no(), &cred);
        args.encode(&mut w);
        let conn = c.conn;
        self.server.handle_input(conn, &encode_frame(Transport::RpcRecordMarking, w.as_slice()), self.now);
        self.pump()
    }

    fn nfs_reply(&mut self, j: usize, data: &[u8]) -> Result<(), String> {
        let mut r = XdrReader::new(data.get(4..).ok_or("short RPC record")?);
        let (xid, h) = rpc::decode_reply(&mut r).map_err(|e| format!("bad RPC reply: {e:?}"))?;
        if h != ReplyHeader::Accepted(AcceptStat::Success) {
            return Err(format!("RPC reply {h:?}"));
        }
        let req =
            self.nfs[j].outstanding.remove(&xid).ok_or_else(|| format!("reply to nfs{j} xid {xid} not outstanding"))?;
        let st = r.u32().map_err(|e| format!("{e:?}"))?;
        self.note(format!("nfs{j} xid {xid} answered {st}"));
        self.stats.jukebox += u64::from(st == NFS3ERR_JUKEBOX);
        self.stats.denied += u64::from(st == NFS3ERR_ACCES);
        if st != 0 {
            return Ok(());
        }
        let who = nfs_cred(self.nfs_uids[j]).1;
        match req {
            NfsReq::Write { object, offset, data, sent } => {
                invariants::check_nfs_io(&self.server, object, &who, true)?;
                self.stats.nfs_writes += 1;
                self.stats.writes_after_wait += u64::from(sent != self.stats.steps);
                self.landed(Writer::Nfs, object)?;
                skip_wcc(&mut r).ok_or("malformed WRITE3 wcc")?;
                let count = r.u32().map_err(|e| format!("{e:?}"))? as usize;
                let _committed = r.u32().map_err(|e| format!("{e:?}"))?;
                let verf = r.fixed::<8>().map_err(|e| format!("{e:?}"))?;
                if count > data.len() {
                    return Err(format!("WRITE3 of {} bytes answered count {count}", data.len()));
                }
                self.model.write(object, offset, &data[..count])?;
                self.check_verf(verf)?;
            }
            NfsReq::Commit => {
                skip_wcc(&mut r).ok_or("malformed COMMIT3 wcc")?;
                let verf = r.fixed::<8>().map_err(|e| format!("{e:?}"))?;
                self.check_verf(verf)?;
            }
            NfsReq::Read { object, offset, len } => {
                invariants::check_nfs_io(&self.server, object, &who, false)?;
                self.stats.reads_checked += 1;
                let got = read3_data(&mut r).ok_or("malformed READ3 reply")?;
                if let Some(want) = self.model.read(object, offset, len)
                    && got != want
                {
                    return Err(format!("nfs{j} read {got:?} at {offset} of {object}, the model has {want:?}"));
                }
            }
            NfsReq::Truncate { object, size } => {
                invariants::check_nfs_io(&self.server, object, &who, true)?;
                self.landed(Writer::Nfs, object)?;
                self.model.truncate(object, size)?;
            }
            NfsReq::Create { name } => {
                let a =
                    self.server.vfs().lookup(self.root, &name).map_err(|e| format!("created {name} is gone: {e}"))?;
                self.model.set(a.id, Vec::new());
                let streams = self.server.vfs().list_streams(a.id).unwrap_or_default();
                if !streams.is_empty() {
                    return Err(format!("{name}, created over NFS as object {}, has streams {streams:?}", a.id));
                }
            }
            NfsReq::Other => {}
        }
        Ok(())
    }

    // ---- outputs ----

    /// Routes every output to its client, in order.
    fn pump(&mut self) -> Result<(), String> {
        while let Some(o) = self.server.poll_output() {
            match o {
                Output::Io(req) => self.io_held.push(req),
                Output::Transmit { conn, data } => self.transmit(conn, data)?,
                Output::Close { conn } => return Err(format!("server closed {conn:?}")),
            }
        }
        Ok(())
    }

    /// Hands bytes sent on `conn` to its client.
    fn transmit(&mut self, conn: ConnId, data: bytes::Bytes) -> Result<(), String> {
        if self.closed.contains(&conn) {
            return Err(format!("sent {} bytes to {conn:?} after it closed", data.len()));
        }
        if let Some(i) = self.smb.iter().position(|c| c.conn == Some(conn)) {
            for m in peer::split(&data) {
                self.smb_message(i, conn, m)?;
            }
        } else if let Some(j) = self.nfs.iter().position(|c| c.conn == conn) {
            self.nfs_reply(j, &data)?;
        } else {
            return Err(format!("output for unknown connection {conn:?}"));
        }
        Ok(())
    }
}

/// Skips a wcc_data (RFC 1813 2.6): pre-op size/mtime/ctime, post-op fattr3.
fn skip_wcc(r: &mut XdrReader<'_>) -> Option<()> {
    if r.bool().ok()? {
        r.fixed::<24>().ok()?;
    }
    if r.bool().ok()? {
        r.fixed::<84>().ok()?;
    }
    Some(())
}

/// The data of a READ3resok after its status.
fn read3_data(r: &mut XdrReader<'_>) -> Option<Vec<u8>> {
    if r.bool().ok()? {
        r.fixed::<84>().ok()?;
    }
    r.u32().ok()?;
    r.bool().ok()?;
    Some(r.opaque(u32::MAX).ok()?.to_vec())
}

fn describe(a: &Nfs3Args) -> String {
    match a {
        Nfs3Args::Write { offset, data, .. } => format!("WRITE {} bytes at {offset}", data.len()),
        Nfs3Args::Read { offset, count, .. } => format!("READ {count} at {offset}"),
        Nfs3Args::Setattr { attr, .. } => format!("SETATTR size {:?}", attr.size),
        Nfs3Args::Rename { from, to } => {
            format!("RENAME {} -> {}", String::from_utf8_lossy(&from.name), String::from_utf8_lossy(&to.name))
        }
        Nfs3Args::Remove(d) => format!("REMOVE {}", String::from_utf8_lossy(&d.name)),
        Nfs3Args::Create { where_, .. } => format!("CREATE {}", String::from_utf8_lossy(&where_.name)),
        other => format!("proc {}", other.proc_no()),
    }
}
