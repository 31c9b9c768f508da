//! Cross-protocol scenarios (docs/LEASES.md "NFS against leases"): NFSv3 calls against SMB
//! leases on one `Server`, on a simulated clock. NFS calls go through the
//! wire (RPC records); the lease holder is an SMB connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::config::{Config, NfsBreakPolicy};
use crate::framing::{Transport, encode_frame};
use crate::id::{ConnId, Protocol};
use crate::lease::{ClientGuid, LeaseInfo, LeaseKey, LeaseState};
use crate::nfs::PROG_NFS;
use crate::nfs::nfs3::args::{DirOpArgs, Nfs3Args, StableHow};
use crate::nfs::nfs3::fh::{FhBytes, NfsFh3};
use crate::nfs::rpc::{self, AcceptStat, AuthSys, Credentials, ReplyHeader};
use crate::nfs::xdr::{XdrReader, XdrWriter};
use crate::output::Output;
use crate::server::Server;
use crate::smb::wire::codec::FileId;
use crate::smb::wire::header::command;
use crate::time::Timespec;
use crate::vfs::{CreateAttr, MemoryFs, ObjectId};

mod change_notify;
mod durable;
mod nfs_vs_dir_lease;
mod nfs_vs_lease;
mod nfs_vs_share;
mod reconnect;
mod storage;

use crate::testing::smb_client::{self as smb_peer, Msg};

pub(crate) const OK: u32 = 0;
pub(crate) const JUKEBOX: u32 = 10008;
pub(crate) const TIMEOUT: Duration = Duration::from_secs(35);
pub(crate) const GUID: [u8; 16] = [0xC1; 16];
pub(crate) const KEY: [u8; 16] = [0x4B; 16];

/// An SMB client connection, logged in anonymously with a tree connected.
pub(crate) struct Peer {
    pub conn: ConnId,
    mid: u64,
    session: u64,
    tree: u32,
    /// Messages received and not yet looked at.
    pub inbox: Vec<Msg>,
}

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// One server, an NFS client and an SMB lease holder.
pub(crate) struct X {
    pub server: Server,
    pub base: Instant,
    pub now: Instant,
    pub nfs: ConnId,
    pub smb: ConnId,
    /// SMB peers; the first is the lease holder (client GUID, lease KEY).
    pub peers: Vec<Peer>,
    /// The holder's open.
    pub fid: Option<FileId>,
    names: std::collections::BTreeMap<ObjectId, String>,
    xid: u32,
    pub root: FhBytes,
    /// NFS replies not yet taken: (connection, xid, nfsstat3 and results).
    replies: Vec<(ConnId, u32, Vec<u8>)>,
    /// With `hold_io`, storage requests wait here until the test answers
    /// them ([`X::answer_io`]); otherwise they run at once.
    pub hold_io: bool,
    pub io_held: Vec<crate::io::IoRequest>,
    /// Every framed message sent, in order (for tests that look at where a
    /// reply's bytes live).
    pub sent: Vec<(ConnId, bytes::Bytes)>,
    /// Hand large WRITEs to the server as an adapter that receives their
    /// data into pipes does ([`Server::handle_spliced_frame`]).
    pub splice_writes: bool,
}

impl X {
    pub fn new() -> Self {
        Self::with(NfsBreakPolicy::Wait, |_| {})
    }

    pub fn with(policy: NfsBreakPolicy, tune: impl FnOnce(&mut Config)) -> Self {
        Self::with_vfs(policy, tune, Box::new(MemoryFs::new()))
    }

    pub fn with_vfs(policy: NfsBreakPolicy, tune: impl FnOnce(&mut Config), vfs: Box<dyn crate::vfs::Vfs>) -> Self {
        let mut config = Config { break_timeout: TIMEOUT, ..Config::default() };
        config.limits.unauthenticated_timeout = Duration::from_secs(3600);
        for e in &mut config.nfs.exports {
            e.policy = policy;
        }
        tune(&mut config);
        let base = Instant::now();
        let mut server = Server::new(config, vfs, 7, base);
        let nfs = server.accept(Protocol::Nfs, "127.0.0.1:800".parse::<SocketAddr>().unwrap(), base).unwrap();
        let root_id = server.vfs().root();
        let generation = server.vfs().getattr(root_id).unwrap().generation;
        let root = NfsFh3 { export: 0, epoch: 0, id: root_id, generation }.to_fh();
        let mut x = Self {
            server,
            base,
            now: base,
            nfs,
            smb: ConnId(0),
            peers: Vec::new(),
            fid: None,
            names: Default::default(),
            xid: 1,
            root,
            replies: Vec::new(),
            hold_io: false,
            io_held: Vec::new(),
            sent: Vec::new(),
            splice_writes: false,
        };
        x.smb = x.smb_peer(GUID);
        x
    }

    /// Moves the simulated clock to `base + d`.
    pub fn at(&mut self, d: Duration) {
        self.now = self.base + d;
    }

    /// A file `name` in the root holding `data`: its id and NFS handle.
    pub fn file(&mut self, name: &str, data: &[u8]) -> (ObjectId, FhBytes) {
        let t = Timespec::new(1, 0);
        let vfs = self.server.vfs();
        let root = vfs.root();
        let a = vfs.create(root, name, CreateAttr { mode: 0o666, uid: 1000, gid: 1000 }, t).unwrap();
        vfs.write(a.id, 0, data, t).unwrap();
        self.names.insert(a.id, name.to_string());
        (a.id, NfsFh3 { export: 0, epoch: 0, id: a.id, generation: a.generation }.to_fh())
    }

    pub fn content(&self, id: ObjectId) -> Vec<u8> {
        self.server.vfs().read(id, 0, 1 << 20).unwrap().0.to_vec()
    }

    pub fn dirop(&self, name: &str) -> DirOpArgs {
        DirOpArgs { dir: self.root.clone(), name: name.as_bytes().to_vec() }
    }

    pub fn nfs_conn(&mut self, peer: &str) -> ConnId {
        self.server.accept(Protocol::Nfs, peer.parse::<SocketAddr>().unwrap(), self.now).unwrap()
    }

    /// Sends an NFS call on `conn` at the current instant; returns its xid.
    pub fn send_on(&mut self, conn: ConnId, args: &Nfs3Args) -> u32 {
        self.xid += 1;
        let cred =
            Credentials::Sys(AuthSys { stamp: 1, machinename: b"c".to_vec(), uid: 1000, gid: 1000, gids: vec![] });
        let mut w = XdrWriter::new();
        rpc::encode_call(&mut w, self.xid, PROG_NFS, 3, args.proc_no(), &cred);
        args.encode(&mut w);
        let framed = encode_frame(Transport::RpcRecordMarking, w.as_slice());
        self.deliver(conn, Transport::RpcRecordMarking, &framed);
        self.xid
    }

    /// Hands the server `framed` (one message, transport header included)
    /// as the adapter would: whole, or, with `splice_writes`, a spliceable
    /// WRITE as its head and its data in pipes.
    pub fn deliver(&mut self, conn: ConnId, transport: Transport, framed: &[u8]) {
        let max = self.server.config().limits.max_frame;
        match crate::framing::spliceable_write(transport, framed, max).filter(|_| self.splice_writes) {
            Some(plan) => {
                let head = bytes::Bytes::copy_from_slice(&framed[4..plan.head]);
                let data = piped(&framed[plan.head..plan.head + plan.data]);
                self.server.handle_spliced_frame(conn, head, data, self.now, self.now);
            }
            None => self.server.handle_input(conn, framed, self.now),
        }
        self.collect();
    }

    pub fn send(&mut self, args: &Nfs3Args) -> u32 {
        self.send_on(self.nfs, args)
    }

    /// Drains the server's outputs, keeping NFS replies.
    pub fn collect(&mut self) {
        while let Some(o) = self.server.poll_output() {
            let (conn, data) = match o {
                Output::Transmit { conn, data } => (conn, data),
                Output::Io(req) if self.hold_io => {
                    self.io_held.push(req);
                    continue;
                }
                Output::Io(req) => {
                    self.server.handle_io(req.run(), self.now);
                    continue;
                }
                _ => continue,
            };
            self.sent.push((conn, data.clone()));
            if let Some(p) = self.peers.iter_mut().find(|p| p.conn == conn) {
                p.inbox.extend(smb_peer::split(&data));
                continue;
            }
            let mut r = XdrReader::new(&data[4..]);
            let (xid, h) = rpc::decode_reply(&mut r).unwrap();
            assert_eq!(h, ReplyHeader::Accepted(AcceptStat::Success));
            self.replies.push((conn, xid, r.rest().to_vec()));
        }
    }

    /// Runs held storage request `k` and hands its completion to the server.
    pub fn answer_io(&mut self, k: usize) {
        let req = self.io_held.remove(k);
        self.server.handle_io(req.run(), self.now);
        self.collect();
    }

    /// The reply to `xid`, if it has been sent.
    pub fn reply(&mut self, xid: u32) -> Option<Vec<u8>> {
        let i = self.replies.iter().position(|(_, x, _)| *x == xid)?;
        Some(self.replies.remove(i).2)
    }

    pub fn status(&mut self, xid: u32) -> Option<u32> {
        self.reply(xid).map(|b| XdrReader::new(&b).u32().unwrap())
    }

    pub fn no_replies(&self) -> bool {
        self.replies.is_empty()
    }

    /// Fires the deadlines due now.
    pub fn tick(&mut self) {
        self.server.handle_timeout(self.now);
        self.collect();
    }

    /// The SMB holder's connection goes away.
    pub fn holder_disconnects(&mut self) {
        self.server.handle_closed(self.smb, self.now);
        self.collect();
    }

    // ---- SMB peers ----

    /// Connects, negotiates 3.1.1 with `guid`, logs in anonymously and
    /// connects the share; returns the peer's index.
    pub fn smb_peer(&mut self, guid: [u8; 16]) -> ConnId {
        let port = 40000 + self.peers.len();
        let peer: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let conn = self.server.accept(Protocol::Smb, peer, self.now).unwrap();
        self.peers.push(Peer { conn, mid: 0, session: 0, tree: 0, inbox: Vec::new() });
        let r = self.smb_call(conn, command::NEGOTIATE, &smb_peer::negotiate_body(guid));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        let r = self.smb_call(conn, command::SESSION_SETUP, &smb_peer::session_setup_body(&smb_peer::ntlm_negotiate()));
        self.peer(conn).session = r.hdr.session_id;
        let auth = smb_peer::session_setup_body(&smb_peer::ntlm_anonymous_authenticate());
        assert_eq!(self.smb_call(conn, command::SESSION_SETUP, &auth).hdr.status, smb_peer::SUCCESS);
        let r = self.smb_call(conn, command::TREE_CONNECT, &smb_peer::tree_connect_body("\\\\127.0.0.1\\SHARE"));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        self.peer(conn).tree = r.hdr.tree_id;
        conn
    }

    fn peer(&mut self, conn: ConnId) -> &mut Peer {
        self.peers.iter_mut().find(|p| p.conn == conn).unwrap()
    }

    /// Sends one SMB request on `conn`; returns its message id.
    pub fn smb_send(&mut self, conn: ConnId, cmd: u16, body: &[u8]) -> u64 {
        let p = self.peer(conn);
        let mid = p.mid;
        p.mid += 1;
        let framed = smb_peer::request(cmd, mid, p.session, p.tree, body);
        self.deliver(conn, Transport::SmbDirectTcp, &framed);
        mid
    }

    /// The responses to `mid` received on `conn` (interim and final).
    pub fn smb_responses(&mut self, conn: ConnId, mid: u64) -> Vec<Msg> {
        let p = self.peer(conn);
        let (mine, rest): (Vec<Msg>, Vec<Msg>) = p.inbox.drain(..).partition(|m| m.hdr.message_id == mid);
        p.inbox = rest;
        mine
    }

    /// A request answered at once by one response.
    pub fn smb_call(&mut self, conn: ConnId, cmd: u16, body: &[u8]) -> Msg {
        let mid = self.smb_send(conn, cmd, body);
        let mut r = self.smb_responses(conn, mid);
        assert_eq!(r.len(), 1, "one response: {r:?}");
        r.remove(0)
    }

    /// The holder opens `file` over SMB with a lease (GUID, KEY) asking for
    /// `state`, and keeps the open.
    pub fn hold(&mut self, file: ObjectId, state: LeaseState) {
        let name = self.names[&file].clone();
        let r = self.smb_call(self.smb, command::CREATE, &smb_peer::create_body(&name, Some((KEY, state.bits()))));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        assert_eq!(r.body[2], 0xFF, "lease granted");
        self.fid = Some(r.file_id());
        assert_eq!(self.lease().state, state);
        assert_eq!(self.lease().file, file, "the lease table key is the Vfs ObjectId");
    }

    pub fn lease(&self) -> LeaseInfo {
        self.server.core().leases.lease_info(ClientGuid(GUID), LeaseKey(KEY)).unwrap()
    }

    pub fn lease_gone(&self) -> bool {
        self.server.core().leases.lease_info(ClientGuid(GUID), LeaseKey(KEY)).is_none()
    }

    /// Lease breaks the holder received since the last call, as
    /// (current, new, ack required).
    pub fn breaks(&mut self) -> Vec<(LeaseState, LeaseState, bool)> {
        let conn = self.smb;
        let p = self.peer(conn);
        let (b, rest): (Vec<Msg>, Vec<Msg>) = p.inbox.drain(..).partition(|m| m.is_break());
        p.inbox = rest;
        b.iter()
            .map(|m| {
                let n = m.lease_break().expect("a lease break notification");
                assert_eq!(n.key, KEY);
                (LeaseState::from_bits(n.current_state), LeaseState::from_bits(n.new_state), n.flags & 1 == 1)
            })
            .collect()
    }

    /// The holder acknowledges the pending break with `state` (one
    /// handle_input call); returns the ack's response status.
    pub fn ack(&mut self, state: LeaseState) -> u32 {
        self.smb_call(self.smb, command::OPLOCK_BREAK, &smb_peer::ack_body(KEY, state.bits())).hdr.status
    }

    /// The holder writes through its open, from offset 0.
    pub fn holder_writes(&mut self, data: &[u8]) {
        let fid = self.fid.unwrap();
        let r = self.smb_call(self.smb, command::WRITE, &smb_peer::write_body(fid, 0, data));
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    }
}

/// `data` in pipes, as an adapter's reader receives a WRITE's data.
pub(crate) fn piped(data: &[u8]) -> crate::splice::PipedData {
    let mut inflow = crate::splice::PipePool::new().inflow(data.len()).expect("a pipe");
    inflow.put(data).expect("the data fits the pipes");
    crate::splice::PipedData::new(inflow.finish())
}

pub(crate) fn write(fh: &FhBytes, data: &[u8]) -> Nfs3Args {
    Nfs3Args::Write {
        fh: fh.clone(),
        offset: 0,
        count: data.len() as u32,
        stable: StableHow::FileSync,
        data: data.to_vec().into(),
    }
}

pub(crate) fn read(fh: &FhBytes) -> Nfs3Args {
    Nfs3Args::Read { fh: fh.clone(), offset: 0, count: 4096 }
}

/// The data of a READ reply.
pub(crate) fn read_data(body: &[u8]) -> Vec<u8> {
    let mut r = XdrReader::new(body);
    assert_eq!(r.u32().unwrap(), OK);
    if r.bool().unwrap() {
        r.fixed::<84>().unwrap();
    }
    r.u32().unwrap();
    r.bool().unwrap();
    r.opaque(u32::MAX).unwrap().to_vec()
}
