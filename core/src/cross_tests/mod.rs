//! Cross-protocol scenarios (PROTOCOL-NOTES §3): NFSv3 calls against SMB
//! leases on one `Server`, on a simulated clock. NFS calls go through the
//! wire (RPC records); the lease holder is an SMB connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::config::{Config, NfsBreakPolicy};
use crate::framing::{Transport, encode_frame};
use crate::lease::{
    BreakNotification, ClientGuid, GrantRequest, LeaseInfo, LeaseKey, LeaseState, LeaseVersion, OpenId,
};
use crate::nfs::PROG_NFS;
use crate::nfs::nfs3::args::{DirOpArgs, Nfs3Args, StableHow};
use crate::nfs::nfs3::fh::{FhBytes, NfsFh3};
use crate::nfs::rpc::{self, AcceptStat, AuthSys, Credentials, ReplyHeader};
use crate::nfs::xdr::{XdrReader, XdrWriter};
use crate::server::{ConnId, Output, Protocol, Server};
use crate::time::Timespec;
use crate::vfs::{CreateAttr, MemoryFs, ObjectId};

mod nfs_vs_lease;

pub(crate) const OK: u32 = 0;
pub(crate) const JUKEBOX: u32 = 10008;
pub(crate) const TIMEOUT: Duration = Duration::from_secs(35);
pub(crate) const GUID: ClientGuid = ClientGuid([0xC1; 16]);
pub(crate) const KEY: LeaseKey = LeaseKey([0x4B; 16]);

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
    xid: u32,
    pub root: FhBytes,
    /// NFS replies not yet taken: (connection, xid, nfsstat3 and results).
    replies: Vec<(ConnId, u32, Vec<u8>)>,
}

impl X {
    pub fn new() -> Self {
        Self::with(NfsBreakPolicy::Wait, |_| {})
    }

    pub fn with(policy: NfsBreakPolicy, tune: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config { break_timeout: TIMEOUT, ..Config::default() };
        config.limits.unauthenticated_timeout = Duration::from_secs(3600);
        for e in &mut config.nfs.exports {
            e.policy = policy;
        }
        tune(&mut config);
        let base = Instant::now();
        let mut server = Server::new(config, Box::new(MemoryFs::new()), 7, base);
        let nfs = server.accept(Protocol::Nfs, "127.0.0.1:800".parse::<SocketAddr>().unwrap(), base).unwrap();
        let smb = server.accept(Protocol::Smb, "127.0.0.1:40000".parse::<SocketAddr>().unwrap(), base).unwrap();
        let root_id = server.vfs().root();
        let generation = server.vfs().getattr(root_id).unwrap().generation;
        let root = NfsFh3 { export: 0, id: root_id, generation }.to_fh();
        Self { server, base, now: base, nfs, smb, xid: 1, root, replies: Vec::new() }
    }

    /// Moves the simulated clock to `base + d`.
    pub fn at(&mut self, d: Duration) {
        self.now = self.base + d;
    }

    /// A file `name` in the root holding `data`: its id and NFS handle.
    pub fn file(&mut self, name: &str, data: &[u8]) -> (ObjectId, FhBytes) {
        let t = Timespec::new(1, 0);
        let vfs = self.server.vfs_mut();
        let root = vfs.root();
        let a = vfs.create(root, name, CreateAttr { mode: 0o666, uid: 1000, gid: 1000 }, t).unwrap();
        vfs.write(a.id, 0, data, t).unwrap();
        (a.id, NfsFh3 { export: 0, id: a.id, generation: a.generation }.to_fh())
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
        self.server.handle_input(conn, &framed, self.now);
        self.collect();
        self.xid
    }

    pub fn send(&mut self, args: &Nfs3Args) -> u32 {
        self.send_on(self.nfs, args)
    }

    /// Drains the server's outputs, keeping NFS replies.
    pub fn collect(&mut self) {
        while let Some(o) = self.server.poll_output() {
            let Output::Transmit { conn, data } = o else { continue };
            if conn == self.smb {
                continue;
            }
            let mut r = XdrReader::new(&data[4..]);
            let (xid, h) = rpc::decode_reply(&mut r).unwrap();
            assert_eq!(h, ReplyHeader::Accepted(AcceptStat::Success));
            self.replies.push((conn, xid, r.rest().to_vec()));
        }
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

    // ---- the SMB lease holder (set up in the lease table) ----

    /// Opens `file` on the SMB connection under lease (GUID, KEY) asking for
    /// `state`.
    pub fn hold(&mut self, file: ObjectId, state: LeaseState) -> OpenId {
        let now = self.now;
        let core = self.server.core_mut();
        let open = core.leases.add_open(file, 0x3, 0x7, self.smb);
        let req = GrantRequest::Lease {
            client_guid: GUID,
            key: KEY,
            requested: state,
            version: LeaseVersion::V2,
            epoch: 0,
            parent_key: None,
            is_directory: false,
        };
        core.leases.grant(file, open, req, now).unwrap();
        assert_eq!(self.lease().state, state);
        open
    }

    pub fn lease(&self) -> LeaseInfo {
        self.server.core().leases.lease_info(GUID, KEY).unwrap()
    }

    pub fn lease_gone(&self) -> bool {
        self.server.core().leases.lease_info(GUID, KEY).is_none()
    }

    /// Breaks sent to the holder since the last call: (from, to, ack required).
    pub fn breaks(&mut self) -> Vec<(LeaseState, LeaseState, bool)> {
        let core = self.server.core_mut();
        std::iter::from_fn(|| core.leases.poll_notification())
            .map(|n: BreakNotification| (n.current, n.new, n.ack_required))
            .collect()
    }

    /// The holder acknowledges the pending break with `state`.
    pub fn ack(&mut self, state: LeaseState) {
        let now = self.now;
        let core = self.server.core_mut();
        core.leases.ack_lease(GUID, KEY, state, &mut core.timers, now).unwrap();
        self.server.handle_input(self.smb, &[], now);
        self.collect();
    }

    /// The holder writes through its open.
    pub fn holder_writes(&mut self, file: ObjectId, data: &[u8]) {
        let t = self.server.core().wall(self.now);
        self.server.vfs_mut().write(file, 0, data, t).unwrap();
    }
}

pub(crate) fn write(fh: &FhBytes, data: &[u8]) -> Nfs3Args {
    Nfs3Args::Write {
        fh: fh.clone(),
        offset: 0,
        count: data.len() as u32,
        stable: StableHow::FileSync,
        data: data.to_vec(),
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
