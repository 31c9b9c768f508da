//! Break-release latency, in process: an SMB client holds an RWH lease, an
//! NFS WRITE parks behind the break, and the clock runs from handing the
//! SMB lease-break ack to `Server::handle_input` until the NFS reply is
//! available from `Server::poll_output`. Real `Instant`s, many runs; prints
//! the median and p99. Not a timed test: it only reports.
//!
//! `cargo run --release --example break_latency -- [RUNS]`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use polyshare_core::lease::LeaseState;
use polyshare_core::nfs::PROG_NFS;
use polyshare_core::nfs::nfs3::args::{Nfs3Args, StableHow};
use polyshare_core::nfs::nfs3::fh::NfsFh3;
use polyshare_core::nfs::rpc::{self, AuthSys, Credentials};
use polyshare_core::nfs::xdr::XdrWriter;
use polyshare_core::smb::wire::header::command;
use polyshare_core::testing::smb_client as smb;
use polyshare_core::vfs::{CreateAttr, MemoryFs};
use polyshare_core::{Config, ConnId, Output, Protocol, Server};

const KEY: [u8; 16] = [0x4B; 16];

struct Rig {
    server: Server,
    smb: ConnId,
    nfs: ConnId,
    mid: u64,
    session: u64,
    tree: u32,
}

impl Rig {
    fn drain(&mut self) -> Vec<(ConnId, bytes::Bytes)> {
        std::iter::from_fn(|| self.server.poll_output_io_inline(Instant::now()))
            .filter_map(|o| match o {
                Output::Transmit { conn, data } => Some((conn, data)),
                _ => None,
            })
            .collect()
    }

    fn smb_call(&mut self, cmd: u16, body: &[u8]) -> smb::Msg {
        let framed = smb::request(cmd, self.mid, self.session, self.tree, body);
        self.mid += 1;
        self.server.handle_input(self.smb, &framed, Instant::now());
        let out = self.drain();
        smb::split(&out.last().expect("a response").1).remove(0)
    }

    /// A server with file "f", an SMB client holding RWH on it and an NFS
    /// connection.
    fn new() -> Self {
        let now = Instant::now();
        let mut server = Server::new(Config::default(), Box::new(MemoryFs::new()), 1, now);
        let root = server.vfs().root();
        let attr = CreateAttr { mode: 0o666, uid: 1000, gid: 1000 };
        server.vfs().create(root, "f", attr, Default::default()).expect("create");
        let peer: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let smb_conn = server.accept(Protocol::Smb, peer, now).expect("accept");
        let nfs = server.accept(Protocol::Nfs, "127.0.0.1:800".parse().expect("addr"), now).expect("accept");
        let mut r = Rig { server, smb: smb_conn, nfs, mid: 0, session: 0, tree: 0 };
        r.smb_call(command::NEGOTIATE, &smb::negotiate_body([0xC1; 16]));
        r.session = r.smb_call(command::SESSION_SETUP, &smb::session_setup_body(&smb::ntlm_negotiate())).hdr.session_id;
        r.smb_call(command::SESSION_SETUP, &smb::session_setup_body(&smb::ntlm_anonymous_authenticate()));
        r.tree = r.smb_call(command::TREE_CONNECT, &smb::tree_connect_body("\\\\127.0.0.1\\SHARE")).hdr.tree_id;
        let c = r.smb_call(command::CREATE, &smb::create_body("f", Some((KEY, LeaseState::RWH.bits()))));
        assert_eq!((c.hdr.status, c.body[2]), (0, 0xFF), "lease granted");
        r
    }

    fn nfs_write(&mut self) {
        let root = self.server.vfs().root();
        let a = self.server.vfs().lookup(root, "f").expect("f");
        let fh = NfsFh3 { export: 0, epoch: 0, id: a.id, generation: a.generation }.to_fh();
        let args = Nfs3Args::Write {
            fh,
            offset: 0,
            count: 3,
            stable: StableHow::FileSync,
            data: bytes::Bytes::from_static(b"nfs").into(),
        };
        let cred =
            Credentials::Sys(AuthSys { stamp: 1, machinename: b"b".to_vec(), uid: 1000, gid: 1000, gids: vec![] });
        let mut w = XdrWriter::new();
        rpc::encode_call(&mut w, 7, PROG_NFS, 3, args.proc_no(), &cred);
        args.encode(&mut w);
        let mut framed = (0x8000_0000u32 | w.as_slice().len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(w.as_slice());
        self.server.handle_input(self.nfs, &framed, Instant::now());
        let out = self.drain();
        assert!(out.iter().all(|(c, _)| *c == self.smb), "the WRITE is parked");
        assert_eq!(out.len(), 1, "one break notification");
    }

    /// Acks the break; returns the time until the NFS reply is out.
    fn ack(&mut self) -> Duration {
        let framed = smb::request(command::OPLOCK_BREAK, self.mid, self.session, self.tree, &smb::ack_body(KEY, 0));
        let t0 = Instant::now();
        self.server.handle_input(self.smb, &framed, t0);
        let reply = std::iter::from_fn(|| self.server.poll_output_io_inline(Instant::now()))
            .any(|o| matches!(o, Output::Transmit { conn, .. } if conn == self.nfs));
        let dt = t0.elapsed();
        assert!(reply, "the NFS reply came out of the ack's handle_input");
        dt
    }
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut r = Rig::new();
        r.nfs_write();
        samples.push(r.ack());
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    println!(
        "ack -> NFS reply, in process, {runs} runs: median {:?}, p99 {:?}, max {:?}",
        pct(0.5),
        pct(0.99),
        samples[samples.len() - 1]
    );
}
