//! Lease and oplock scenarios through SMB on one Server with several
//! connections, time travelled (no sleeping): grants, break notifications
//! on the wire, parked CREATEs with interim responses, acks and their
//! errors, timeouts, disconnects, CANCEL, chained breaks, v2 epochs.

use bytes::Bytes;

use super::*;
use crate::smb::wire::create_context::{
    CreateContext, LeaseContext, LeaseV2, ResponseContext, decode_response_contexts, encode_request_contexts,
};
use crate::smb::wire::header::{FLAG_ASYNC, FLAG_SERVER_TO_REDIR};
use crate::smb::wire::oplock_break::{LeaseBreakAck, LeaseBreakNotification, OplockBreak};

const R: u32 = 1;
const RH: u32 = 3;
const RWH: u32 = 7;
const NONE: u32 = 0;
const K1: [u8; 16] = [1; 16];
const K2: [u8; 16] = [2; 16];
const G1: [u8; 16] = [0xA1; 16];
const G2: [u8; 16] = [0xA2; 16];
const BREAK_TIMEOUT: Duration = Duration::from_secs(35);

struct World {
    server: Server,
    now: Instant,
    next_port: u16,
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    conn: ConnId,
    mid: u64,
    session: u64,
    tree: u32,
}

/// One message received, with the connection it went to.
#[derive(Debug, Clone)]
struct Got {
    conn: ConnId,
    r: Resp,
}

impl Got {
    fn is_break(&self) -> bool {
        self.r.hdr.command == command::OPLOCK_BREAK && self.r.hdr.message_id == u64::MAX
    }
}

pub(super) fn lease_ctx(key: [u8; 16], state: u32, v2: Option<u16>) -> Vec<u8> {
    let l =
        LeaseContext { key, state, flags: 0, duration: 0, v2: v2.map(|epoch| LeaseV2 { parent_key: [0; 16], epoch }) };
    let mut b = Vec::new();
    encode_request_contexts(&[CreateContext::Lease(l)], &mut b);
    b.to_vec()
}

/// A CREATE body asking for `oplock` (0xFF: the lease in `contexts`).
fn create_req(name: &str, access: u32, disp: u32, oplock: u8, contexts: &[u8]) -> Vec<u8> {
    let mut b = create_body(name, access, SHARE_ALL, disp, options::NON_DIRECTORY_FILE, contexts);
    b[3] = oplock;
    b
}

fn lease_of(r: &Resp) -> Option<LeaseContext> {
    let off = u32_at(&r.body, 80).unwrap() as usize;
    let len = u32_at(&r.body, 84).unwrap() as usize;
    if len == 0 {
        return None;
    }
    let chain = Bytes::copy_from_slice(&r.body[off - 64..off - 64 + len]);
    decode_response_contexts(&chain).unwrap().into_iter().find_map(|c| match c {
        ResponseContext::Lease(l) => Some(l),
        _ => None,
    })
}

fn ack_body(key: [u8; 16], state: u32) -> Vec<u8> {
    let mut b = Vec::new();
    LeaseBreakAck { flags: 0, key, state, duration: 0 }.encode(&mut b);
    b.to_vec()
}

fn oplock_ack_body(fid: FileId, level: u8) -> Vec<u8> {
    let mut id = Vec::new();
    fid.encode(&mut id);
    let mut b = Vec::new();
    OplockBreak { level, file_id: id.try_into().unwrap() }.encode(&mut b);
    b.to_vec()
}

impl World {
    fn new() -> Self {
        Self::with_config(Config::default())
    }

    fn with_config(config: Config) -> Self {
        let now = Instant::now();
        let server = Server::new(config, Box::new(MemoryFs::default()), 11, now);
        Self { server, now, next_port: 40000 }
    }

    fn drain(&mut self) -> Vec<Got> {
        let mut out = Vec::new();
        while let Some(o) = self.server.poll_output_io_inline(self.now) {
            if let Output::Transmit { conn, data } = o {
                out.extend(split(&data).into_iter().map(|r| Got { conn, r }));
            }
        }
        out
    }

    /// Sends one request from `p` and returns everything the server sent.
    fn send(&mut self, p: &mut Peer, cmd: u16, body: &[u8]) -> Vec<Got> {
        let mut m = raw_header(cmd, p.mid, p.session, p.tree, 0);
        p.mid += 1;
        m.extend_from_slice(body);
        let mut framed = vec![0, (m.len() >> 16) as u8, (m.len() >> 8) as u8, m.len() as u8];
        framed.extend_from_slice(&m);
        self.server.handle_input(p.conn, &framed, self.now);
        self.drain()
    }

    /// A request answered by exactly one response and nothing else.
    fn call(&mut self, p: &mut Peer, cmd: u16, body: &[u8]) -> Resp {
        let mut got = self.send(p, cmd, body);
        assert_eq!(got.len(), 1, "exactly one message: {got:?}");
        let g = got.remove(0);
        assert_eq!(g.conn, p.conn);
        g.r
    }

    fn connect(&mut self, guid: [u8; 16], dialect: u16) -> Peer {
        self.next_port += 1;
        let peer: SocketAddr = format!("127.0.0.1:{}", self.next_port).parse().unwrap();
        let conn = self.server.accept(Protocol::Smb, peer, self.now).unwrap();
        let mut p = Peer { conn, mid: 0, session: 0, tree: 0 };
        let mut nb = negotiate_body(&[dialect], dialect == 0x0311);
        nb[12..28].copy_from_slice(&guid);
        let r = self.call(&mut p, command::NEGOTIATE, &nb);
        assert_eq!(r.status(), status::SUCCESS);
        for (i, token) in [ntlm_negotiate(), ntlm_anonymous_authenticate()].iter().enumerate() {
            let mut b = vec![25, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 88, 0];
            b.extend_from_slice(&(token.len() as u16).to_le_bytes());
            b.extend_from_slice(&[0; 8]);
            b.extend_from_slice(token);
            let r = self.call(&mut p, command::SESSION_SETUP, &b);
            if i == 0 {
                p.session = r.hdr.session_id;
            } else {
                assert_eq!(r.status(), status::SUCCESS);
            }
        }
        let path = utf16le("\\\\127.0.0.1\\SHARE");
        let mut b = vec![9, 0, 0, 0, 72, 0];
        b.extend_from_slice(&(path.len() as u16).to_le_bytes());
        b.extend_from_slice(&path);
        let r = self.call(&mut p, command::TREE_CONNECT, &b);
        assert_eq!(r.status(), status::SUCCESS);
        p.tree = r.hdr.tree_id;
        p
    }

    /// Opens `name` with a lease; returns the response.
    fn open_lease(&mut self, p: &mut Peer, name: &str, key: [u8; 16], state: u32, v2: Option<u16>) -> Resp {
        let body = create_req(name, RW, disposition::OPEN_IF, 0xFF, &lease_ctx(key, state, v2));
        self.call(p, command::CREATE, &body)
    }

    fn timeout(&mut self) -> Vec<Got> {
        self.server.handle_timeout(self.now);
        self.drain()
    }
}

fn expect_lease_break(g: &Got, conn: ConnId, key: [u8; 16], cur: u32, new: u32, ack: bool) -> LeaseBreakNotification {
    assert!(g.is_break(), "a break notification: {g:?}");
    assert_eq!(g.conn, conn, "sent on the holder's connection");
    let h = &g.r.hdr;
    assert_eq!((h.flags, h.session_id, h.tree_id, h.credits, h.status), (FLAG_SERVER_TO_REDIR, 0, 0, 0, 0));
    assert_eq!(h.signature, [0; 16], "unsigned");
    let n = LeaseBreakNotification::decode(&g.r.body).unwrap();
    assert_eq!(g.r.body.len(), 44);
    assert_eq!((n.key, n.current_state, n.new_state), (key, cur, new));
    assert_eq!(n.flags, u32::from(ack), "ACK_REQUIRED");
    n
}

fn expect_interim(g: &Got, conn: ConnId) -> u64 {
    assert_eq!(g.conn, conn);
    let h = &g.r.hdr;
    assert_eq!(h.status, status::PENDING);
    assert_eq!(h.flags, FLAG_SERVER_TO_REDIR | FLAG_ASYNC);
    assert_ne!(h.async_id, 0);
    assert_eq!(h.signature, [0; 16]);
    assert_eq!(g.r.body.len(), 9, "ERROR body");
    h.async_id
}

fn expect_final(g: &Got, conn: ConnId, async_id: u64, cmd: u16) {
    assert_eq!(g.conn, conn);
    let h = &g.r.hdr;
    assert_eq!(h.command, cmd);
    assert_eq!(h.flags & FLAG_ASYNC, FLAG_ASYNC);
    assert_eq!(h.async_id, async_id);
    assert_eq!(h.credits, 0, "the final response grants no credits");
}

/// A holds RWH; B's open breaks it to RH and waits (interim response); A's
/// ack releases B's CREATE within the same handle_input call.
fn rwh_then_second_open(w: &mut World, a: &mut Peer, b: &mut Peer, name: &str) -> (Resp, Resp) {
    let ra = w.open_lease(a, name, K1, RWH, None);
    assert_eq!(ra.status(), status::SUCCESS);
    assert_eq!(ra.body[2], 0xFF, "OplockLevel LEASE");
    assert_eq!(lease_of(&ra).unwrap().state, RWH);
    let got = w.send(b, command::CREATE, &create_req(name, RW, disposition::OPEN_IF, 0xFF, &lease_ctx(K2, RWH, None)));
    assert_eq!(got.len(), 2, "{got:?}");
    expect_lease_break(&got[0], a.conn, K1, RWH, RH, true);
    let async_id = expect_interim(&got[1], b.conn);
    assert_eq!(w.server.core().leases.parked(), 1);
    let got = w.send(a, command::OPLOCK_BREAK, &ack_body(K1, RH));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].conn, a.conn);
    assert_eq!(got[0].r.status(), status::SUCCESS);
    let ack = LeaseBreakAck::decode(&got[0].r.body).unwrap();
    assert_eq!((ack.key, ack.state), (K1, RH));
    expect_final(&got[1], b.conn, async_id, command::CREATE);
    assert_eq!(got[1].r.status(), status::SUCCESS);
    assert_eq!(lease_of(&got[1].r).unwrap().state, RH, "B shares RH");
    (ra, got[1].r.clone())
}

#[test]
fn second_open_breaks_rwh_to_rh_and_waits_for_the_ack() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    rwh_then_second_open(&mut w, &mut a, &mut b, "f.txt");
    assert_eq!(w.server.stats().breaks_sent, 1);
    assert_eq!(w.server.stats().breaks_acked, 1);
    assert_eq!(w.server.core().leases.parked(), 0);
}

#[test]
fn overwrite_breaks_to_none_without_waiting() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    rwh_then_second_open(&mut w, &mut a, &mut b, "f.txt");
    // C (no lease) overwrites: both RH leases go to NONE; H needs an ack,
    // but the open does not wait for it.
    let mut c = w.connect([0xC3; 16], 0x0311);
    let got = w.send(&mut c, command::CREATE, &create_req("f.txt", RW, disposition::OVERWRITE_IF, 0, &[]));
    assert_eq!(got.len(), 3, "{got:?}");
    let mut keys: Vec<_> = got[..2]
        .iter()
        .map(|g| {
            let n = LeaseBreakNotification::decode(&g.r.body).unwrap();
            assert_eq!((n.current_state, n.new_state, n.flags), (RH, NONE, 1));
            n.key
        })
        .collect();
    keys.sort();
    assert_eq!(keys, vec![K1, K2]);
    assert_eq!(got[2].conn, c.conn);
    assert_eq!(got[2].r.status(), status::SUCCESS);
    assert_eq!(u32_at(&got[2].r.body, 4).unwrap(), 3, "FILE_OVERWRITTEN");
}

#[test]
fn write_by_another_open_breaks_rh_to_none_before_its_response() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let (_, rb) = rwh_then_second_open(&mut w, &mut a, &mut b, "f.txt");
    // A third, lease-less open writes.
    let mut c = w.connect([0xC3; 16], 0x0311);
    let rc = w.call(&mut c, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    let got = w.send(&mut c, command::WRITE, &write_body(rc.file_id(), 0, b"x"));
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].is_break() && got[1].is_break());
    assert_eq!(got[2].conn, c.conn);
    assert_eq!(got[2].r.status(), status::SUCCESS);
    // B's own write does not break B (it is NONE now anyway) and succeeds.
    let r = w.call(&mut b, command::WRITE, &write_body(rb.file_id(), 0, b"y"));
    assert_eq!(r.status(), status::SUCCESS);
}

#[test]
fn own_key_never_breaks_itself_and_upgrades() {
    let mut w = World::new();
    let mut a = w.connect(G1, 0x0311);
    let r1 = w.open_lease(&mut a, "f.txt", K1, R, Some(0));
    let l = lease_of(&r1).unwrap();
    assert_eq!((l.state, l.v2.unwrap().epoch), (R, 1), "a new v2 grant answers epoch + 1");
    // Same key, asks for RWH: a strict superset, upgraded; epoch + 1.
    let r2 = w.open_lease(&mut a, "f.txt", K1, RWH, Some(1));
    let l = lease_of(&r2).unwrap();
    assert_eq!((l.state, l.v2.unwrap().epoch), (RWH, 2));
    // Same key, asks for less: never reduced.
    let r3 = w.open_lease(&mut a, "f.txt", K1, R, Some(2));
    assert_eq!(lease_of(&r3).unwrap().state, RWH);
    // Writes through its own handles break nothing.
    let got = w.send(&mut a, command::WRITE, &write_body(r2.file_id(), 0, b"abc"));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].r.status(), status::SUCCESS);
    assert_eq!(w.server.stats().breaks_sent, 0);
    // The key on another file is refused.
    let r = w.open_lease(&mut a, "other.txt", K1, RWH, Some(0));
    assert_eq!(r.status(), status::INVALID_PARAMETER);
}

#[test]
fn v2_epochs_in_notifications_and_a_chained_break_to_none() {
    let mut w = World::new();
    let (mut a, mut b, mut c) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311), w.connect([0xC3; 16], 0x0311));
    let ra = w.open_lease(&mut a, "f.txt", K1, RWH, Some(4));
    assert_eq!(lease_of(&ra).unwrap().v2.unwrap().epoch, 5);
    // B opens without a lease: RWH -> RH, parked until the ack.
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW | DELETE, disposition::OPEN, 0, &[]));
    let n = expect_lease_break(&got[0], a.conn, K1, RWH, RH, true);
    assert_eq!(n.new_epoch, 6);
    let async_id = expect_interim(&got[1], b.conn);
    let got = w.send(&mut a, command::OPLOCK_BREAK, &ack_body(K1, RH));
    expect_final(&got[1], b.conn, async_id, command::CREATE);
    let rb = got[1].r.clone();
    // C opens (RH breaks nothing for an open).
    let rc = w.call(&mut c, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    assert_eq!(rc.status(), status::SUCCESS);
    // B renames: RH -> R, B waits.
    let got = w.send(&mut b, command::SET_INFO, &set_info_body(rb.file_id(), 10, &rename_info("g.txt", false)));
    let n = expect_lease_break(&got[0], a.conn, K1, RH, R, true);
    assert_eq!(n.new_epoch, 7);
    let async_rename = expect_interim(&got[1], b.conn);
    // C writes during the break: it narrows the break to NONE without a
    // new notification, and does not wait (no W is held).
    let got = w.send(&mut c, command::WRITE, &write_body(rc.file_id(), 0, b"z"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].r.status(), status::SUCCESS);
    // A acks R: R -> NONE goes out at once (no ack needed), then the ack
    // response, then B's rename completes.
    let got = w.send(&mut a, command::OPLOCK_BREAK, &ack_body(K1, R));
    assert_eq!(got.len(), 3, "{got:?}");
    let n = expect_lease_break(&got[0], a.conn, K1, R, NONE, false);
    assert_eq!(n.new_epoch, 7, "a further downgrade on an ack keeps the epoch (MS-SMB2 3.3.4.7 note <248>)");
    assert_eq!(got[1].r.status(), status::SUCCESS);
    expect_final(&got[2], b.conn, async_rename, command::SET_INFO);
    assert_eq!(got[2].r.status(), status::SUCCESS);
    let info = w.server.core().leases.lease_info(crate::lease::ClientGuid(G1), crate::lease::LeaseKey(K1)).unwrap();
    assert_eq!(info.state.bits(), NONE);
}

#[test]
fn ack_errors() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let ra = w.open_lease(&mut a, "f.txt", K1, RWH, None);
    // Unknown key, lease not breaking, malformed size.
    assert_eq!(w.call(&mut a, command::OPLOCK_BREAK, &ack_body(K2, NONE)).status(), status::OBJECT_NAME_NOT_FOUND);
    assert_eq!(w.call(&mut a, command::OPLOCK_BREAK, &ack_body(K1, RH)).status(), status::UNSUCCESSFUL);
    let mut bad = ack_body(K1, RH);
    bad[0] = 30;
    assert_eq!(w.call(&mut a, command::OPLOCK_BREAK, &bad).status(), status::INVALID_PARAMETER);
    // No oplock break pending on A's handle.
    let r = w.call(&mut a, command::OPLOCK_BREAK, &oplock_ack_body(ra.file_id(), 0));
    assert_eq!(r.status(), status::INVALID_OPLOCK_PROTOCOL);
    // Breaking RWH -> RH: acking RWH is not a subset.
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    assert_eq!(got.len(), 2);
    assert_eq!(w.call(&mut a, command::OPLOCK_BREAK, &ack_body(K1, RWH)).status(), status::REQUEST_NOT_ACCEPTED);
    // Any subset is fine: R.
    let got = w.send(&mut a, command::OPLOCK_BREAK, &ack_body(K1, R));
    assert_eq!(got[0].r.status(), status::SUCCESS);
    assert_eq!(LeaseBreakAck::decode(&got[0].r.body).unwrap().state, R);
    assert_eq!(got.len(), 2, "B's CREATE completes");
    // A duplicate ack is late.
    assert_eq!(w.call(&mut a, command::OPLOCK_BREAK, &ack_body(K1, R)).status(), status::UNSUCCESSFUL);
}

#[test]
fn break_times_out_at_exactly_35_seconds() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    w.open_lease(&mut a, "f.txt", K1, RWH, None);
    let t0 = w.now;
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    let async_id = expect_interim(&got[1], b.conn);
    w.now = t0 + BREAK_TIMEOUT - Duration::from_micros(1);
    assert!(w.timeout().is_empty(), "nothing 1 µs before the deadline");
    assert_eq!(w.server.core().leases.parked(), 1);
    w.now = t0 + BREAK_TIMEOUT;
    let got = w.timeout();
    assert_eq!(got.len(), 1, "{got:?}");
    expect_final(&got[0], b.conn, async_id, command::CREATE);
    assert_eq!(got[0].r.status(), status::SUCCESS);
    assert_eq!(w.server.stats().breaks_timed_out, 1);
    // The holder dropped to NONE, not to the break-to state; a late ack fails.
    let info = w.server.core().leases.lease_info(crate::lease::ClientGuid(G1), crate::lease::LeaseKey(K1)).unwrap();
    assert_eq!(info.state.bits(), NONE);
    assert_eq!(w.call(&mut a, command::OPLOCK_BREAK, &ack_body(K1, RH)).status(), status::UNSUCCESSFUL);
}

#[test]
fn holder_disconnect_releases_a_parked_create_at_once() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    w.open_lease(&mut a, "f.txt", K1, RWH, None);
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    let async_id = expect_interim(&got[1], b.conn);
    w.server.handle_closed(a.conn, w.now);
    let got = w.drain();
    assert_eq!(got.len(), 1, "{got:?}");
    expect_final(&got[0], b.conn, async_id, command::CREATE);
    assert_eq!(got[0].r.status(), status::SUCCESS);
    assert!(w.server.core().leases.lease_info(crate::lease::ClientGuid(G1), crate::lease::LeaseKey(K1)).is_none());
}

#[test]
fn waiter_disconnect_forgets_its_parked_create() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    w.open_lease(&mut a, "f.txt", K1, RWH, None);
    w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    w.server.handle_closed(b.conn, w.now);
    assert_eq!(w.server.core().leases.parked(), 0);
    let got = w.send(&mut a, command::OPLOCK_BREAK, &ack_body(K1, RH));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].r.status(), status::SUCCESS);
}

#[test]
fn one_client_guid_on_two_connections_acks_on_the_other() {
    let mut w = World::new();
    let (mut a1, mut a2, mut b) = (w.connect(G1, 0x0311), w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    w.open_lease(&mut a1, "f.txt", K1, RWH, None);
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    expect_lease_break(&got[0], a1.conn, K1, RWH, RH, true);
    let async_id = expect_interim(&got[1], b.conn);
    let got = w.send(&mut a2, command::OPLOCK_BREAK, &ack_body(K1, RH));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].conn, got[0].r.status()), (a2.conn, status::SUCCESS));
    expect_final(&got[1], b.conn, async_id, command::CREATE);
}

#[test]
fn cancel_of_a_parked_create() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    w.open_lease(&mut a, "f.txt", K1, RWH, None);
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    let async_id = expect_interim(&got[1], b.conn);
    // CANCEL by AsyncId.
    let mut m = raw_header(command::CANCEL, 0, b.session, 0, FLAG_ASYNC);
    m[32..40].copy_from_slice(&async_id.to_le_bytes());
    m.extend_from_slice(&[4, 0, 0, 0]);
    let mut framed = vec![0, 0, 0, m.len() as u8];
    framed.extend_from_slice(&m);
    w.server.handle_input(b.conn, &framed, w.now);
    let got = w.drain();
    assert_eq!(got.len(), 1, "{got:?}");
    expect_final(&got[0], b.conn, async_id, command::CREATE);
    assert_eq!(got[0].r.status(), status::CANCELLED);
    assert_eq!(w.server.core().leases.parked(), 0);
    // The ack then releases nothing.
    let got = w.send(&mut a, command::OPLOCK_BREAK, &ack_body(K1, RH));
    assert_eq!(got.len(), 1);
}

#[test]
fn rename_by_another_open_breaks_handle_caching() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let ra = w.open_lease(&mut a, "f.txt", K1, RH, None);
    assert_eq!(lease_of(&ra).unwrap().state, RH);
    let rb = w.call(&mut b, command::CREATE, &create_req("f.txt", RW | DELETE, disposition::OPEN, 0, &[]));
    assert_eq!(rb.status(), status::SUCCESS, "RH needs no break for an open");
    let got = w.send(&mut b, command::SET_INFO, &set_info_body(rb.file_id(), 10, &rename_info("g.txt", false)));
    assert_eq!(got.len(), 2, "{got:?}");
    expect_lease_break(&got[0], a.conn, K1, RH, R, true);
    let async_id = expect_interim(&got[1], b.conn);
    let got = w.send(&mut a, command::OPLOCK_BREAK, &ack_body(K1, R));
    assert_eq!(got.len(), 2, "{got:?}");
    expect_final(&got[1], b.conn, async_id, command::SET_INFO);
    assert_eq!(got[1].r.status(), status::SUCCESS);
}

#[test]
fn lease_on_21_v1_and_no_lease_on_202() {
    let mut w = World::new();
    let mut a = w.connect(G1, 0x0210);
    let r = w.open_lease(&mut a, "f.txt", K1, RWH, None);
    let l = lease_of(&r).unwrap();
    assert_eq!((l.state, l.v2), (RWH, None));
    // A v2 context on 2.1 is ignored: no lease.
    let r = w.open_lease(&mut a, "g.txt", K2, RWH, Some(0));
    assert_eq!((r.body[2], lease_of(&r)), (0, None));
    let mut old = w.connect(G2, 0x0202);
    let r = w.open_lease(&mut old, "h.txt", [9; 16], RWH, None);
    assert_eq!((r.body[2], lease_of(&r)), (0, None));
    // LEASE without RqLs grants nothing.
    let r = w.call(&mut a, command::CREATE, &create_req("i.txt", RW, disposition::OPEN_IF, 0xFF, &[]));
    assert_eq!((r.body[2], lease_of(&r)), (0, None));
}

#[test]
fn batch_oplock_breaks_to_level_ii_with_the_file_id() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let ra = w.call(&mut a, command::CREATE, &create_req("f.txt", RW, disposition::OPEN_IF, 0x09, &[]));
    assert_eq!(ra.body[2], 0x09, "BATCH");
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0x09, &[]));
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].is_break());
    assert_eq!(got[0].conn, a.conn);
    assert_eq!(got[0].r.hdr.session_id, a.session);
    let n = OplockBreak::decode(&got[0].r.body).unwrap();
    assert_eq!(got[0].r.body.len(), 24);
    assert_eq!(n.level, 1, "to level II");
    assert_eq!(FileId::decode(&n.file_id, 0).unwrap(), ra.file_id());
    let async_id = expect_interim(&got[1], b.conn);
    let got = w.send(&mut a, command::OPLOCK_BREAK, &oplock_ack_body(ra.file_id(), 1));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].r.status(), status::SUCCESS);
    assert_eq!(OplockBreak::decode(&got[0].r.body).unwrap().level, 1);
    expect_final(&got[1], b.conn, async_id, command::CREATE);
    assert_eq!(got[1].r.body[2], 1, "the second open gets level II");
}

#[test]
fn byte_range_locks() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let ra = w.call(&mut a, command::CREATE, &create_req("f.txt", RW, disposition::OPEN_IF, 0, &[]));
    let rb = w.call(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    w.call(&mut a, command::WRITE, &write_body(ra.file_id(), 0, b"0123456789"));
    let lock = |fid: FileId, off: u64, len: u64, flags: u32| {
        let mut b = fid_body(48, fid, 8, &[]);
        b[2] = 1;
        b.extend_from_slice(&off.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        b
    };
    assert_eq!(w.call(&mut a, command::LOCK, &lock(ra.file_id(), 0, 4, 0x12)).status(), status::SUCCESS);
    assert_eq!(w.call(&mut b, command::LOCK, &lock(rb.file_id(), 2, 4, 0x12)).status(), 0xC000_0055);
    assert_eq!(w.call(&mut b, command::READ, &read_body(rb.file_id(), 0, 4)).status(), 0xC000_0054);
    assert_eq!(w.call(&mut b, command::WRITE, &write_body(rb.file_id(), 1, b"x")).status(), 0xC000_0054);
    assert_eq!(w.call(&mut b, command::READ, &read_body(rb.file_id(), 4, 4)).status(), status::SUCCESS);
    assert_eq!(w.call(&mut b, command::LOCK, &lock(rb.file_id(), 0, 4, 0x4)).status(), 0xC000_007E);
    assert_eq!(w.call(&mut a, command::LOCK, &lock(ra.file_id(), 0, 4, 0x4)).status(), status::SUCCESS);
    assert_eq!(w.call(&mut b, command::LOCK, &lock(rb.file_id(), 2, 4, 0x11)).status(), status::SUCCESS);
    assert_eq!(w.call(&mut a, command::LOCK, &lock(ra.file_id(), 0, 4, 0x11)).status(), status::SUCCESS);
}

/// smbtorture smb2.lease.breaking3 on the wire: opens meeting a break in
/// progress wait for all of it; an overwrite then takes H (RWH -> RH -> R)
/// and its truncation breaks R -> NONE when it runs. A same-key open during
/// the break answers the current state with BREAK_IN_PROGRESS.
#[test]
fn opens_during_a_break_wait_for_all_of_it() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    w.open_lease(&mut a, "f.txt", K1, RWH, None);
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    expect_lease_break(&got[0], a.conn, K1, RWH, RH, true);
    let id2 = expect_interim(&got[1], b.conn);
    let same = w.open_lease(&mut a, "f.txt", K1, RWH, None);
    let l = lease_of(&same).unwrap();
    assert_eq!((l.state, l.flags), (RWH, 0x2), "current state, BREAK_IN_PROGRESS");
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OVERWRITE, 0, &[]));
    assert_eq!(got.len(), 1, "no new notification: {got:?}");
    let id3 = expect_interim(&got[0], b.conn);
    // Ack RH: the next break (RH -> R) goes out; both opens still wait.
    let got = w.send(&mut a, command::OPLOCK_BREAK, &ack_body(K1, RH));
    assert_eq!(got.len(), 2, "{got:?}");
    expect_lease_break(&got[0], a.conn, K1, RH, R, true);
    assert_eq!(got[1].r.status(), status::SUCCESS);
    assert_eq!(w.server.core().leases.parked(), 2);
    // Ack R: the plain open completes, the overwrite breaks R -> NONE (no
    // ack) before its own response, and completes.
    let got = w.send(&mut a, command::OPLOCK_BREAK, &ack_body(K1, R));
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0].r.status(), status::SUCCESS);
    let at = |id: u64| got.iter().position(|g| !g.is_break() && g.r.hdr.async_id == id).unwrap();
    let (i2, i3) = (at(id2), at(id3));
    expect_final(&got[i2], b.conn, id2, command::CREATE);
    assert_eq!((got[i2].r.status(), u32_at(&got[i2].r.body, 4).unwrap()), (status::SUCCESS, 1), "FILE_OPENED");
    expect_lease_break(&got[i3 - 1], a.conn, K1, R, NONE, false);
    expect_final(&got[i3], b.conn, id3, command::CREATE);
    assert_eq!((got[i3].r.status(), u32_at(&got[i3].r.body, 4).unwrap()), (status::SUCCESS, 3), "FILE_OVERWRITTEN");
}

#[test]
fn directories_get_no_lease_with_directory_leasing_off_and_key_reuse_is_refused_before_creating() {
    let mut config = Config::default();
    config.smb.directory_leasing = false;
    let mut w = World::with_config(config);
    let mut a = w.connect(G1, 0x0311);
    w.open_lease(&mut a, "f.txt", K1, RWH, None);
    let dir = |name: &str, disp: u32, ctx: &[u8], oplock: u8| {
        let mut b = create_body(name, RW, SHARE_ALL, disp, options::DIRECTORY_FILE, ctx);
        b[3] = oplock;
        b
    };
    let r = w.call(&mut a, command::CREATE, &dir("d", disposition::OPEN_IF, &lease_ctx(K2, RWH, None), 0xFF));
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!((r.body[2], lease_of(&r)), (0, None), "no directory leasing");
    let r = w.call(&mut a, command::CREATE, &dir("d2", disposition::CREATE, &lease_ctx(K1, RWH, None), 0xFF));
    assert_eq!(r.status(), status::INVALID_PARAMETER);
    let r = w.call(&mut a, command::CREATE, &dir("d2", disposition::OPEN, &[], 0));
    assert_eq!(r.status(), status::OBJECT_NAME_NOT_FOUND, "nothing was created");
}

/// A related chain from `p` (each element after the first has
/// SMB2_FLAGS_RELATED_OPERATIONS), framed for the transport.
fn related_chain(p: &mut Peer, elements: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let framed = crate::testing::smb_client::related_chain(elements, p.mid, p.session, p.tree);
    p.mid += elements.len() as u64;
    framed
}

/// CREATE of `name` + QUERY_INFO FileStandardInformation + CLOSE, related
/// (what smbclient's `allinfo` and Windows' attribute queries send).
fn create_query_close(w: &mut World, p: &mut Peer, name: &str) -> Vec<Got> {
    let frame = related_chain(
        p,
        &[
            (command::CREATE, create_req(name, RW, disposition::OPEN_IF, 0, &[])),
            (command::QUERY_INFO, query_info_body(FileId::RELATED, 1, 5)),
            (command::CLOSE, close_body(FileId::RELATED, 0)),
        ],
    );
    w.server.handle_input(p.conn, &frame, w.now);
    w.drain()
}

/// The three interim responses of a parked chain; their AsyncIds.
fn expect_chain_interims(got: &[Got], conn: ConnId) -> Vec<u64> {
    assert_eq!(got.len(), 3, "{got:?}");
    let ids: Vec<u64> = got
        .iter()
        .enumerate()
        .map(|(i, g)| {
            assert_eq!(g.conn, conn);
            assert_eq!(g.r.hdr.status, status::PENDING);
            let related = if i == 0 { 0 } else { FLAG_RELATED };
            assert_eq!(g.r.hdr.flags, FLAG_SERVER_TO_REDIR | FLAG_ASYNC | related);
            assert_ne!(g.r.hdr.async_id, 0);
            g.r.hdr.async_id
        })
        .collect();
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "one AsyncId each: {ids:?}");
    ids
}

/// MS-SMB2 3.3.5.2.7.2: when the CREATE of a related compound waits for a
/// lease break, the QUERY_INFO and CLOSE that depend on it go async too
/// (interim responses now) and complete after it, on the FileId it made.
#[test]
fn a_related_compound_waits_behind_its_parked_create() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let ra = w.open_lease(&mut a, "c.txt", K1, RWH, None);
    assert_eq!(w.call(&mut a, command::WRITE, &write_body(ra.file_id(), 0, b"12345")).status(), status::SUCCESS);
    let got = create_query_close(&mut w, &mut b, "c.txt");
    assert_eq!(got.len(), 4, "{got:?}");
    expect_lease_break(&got[0], a.conn, K1, RWH, RH, true);
    let ids = expect_chain_interims(&got[1..], b.conn);
    assert_eq!(w.server.core().leases.parked(), 1);
    // A flushes "67" before acking; B's query then sees all seven bytes.
    assert_eq!(w.call(&mut a, command::WRITE, &write_body(ra.file_id(), 5, b"67")).status(), status::SUCCESS);
    let got = w.send(&mut a, command::OPLOCK_BREAK, &ack_body(K1, RH));
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!((got[0].conn, got[0].r.status()), (a.conn, status::SUCCESS));
    for (g, (id, cmd)) in got[1..].iter().zip(ids.iter().zip([command::CREATE, command::QUERY_INFO, command::CLOSE])) {
        expect_final(g, b.conn, *id, cmd);
        assert_eq!(g.r.status(), status::SUCCESS, "{cmd}");
    }
    assert_eq!(got[2].r.hdr.flags & FLAG_RELATED, FLAG_RELATED);
    assert_eq!(u64_at(&got[2].r.body, 8 + 8).unwrap(), 7, "EndOfFile after A's flush");
    // The CLOSE closed B's open: only A's is left.
    assert_eq!(w.server.core().leases.parked(), 0);
    assert_eq!(w.server.core().leases.opens_on(lease_file(&w)).count(), 1);
}

fn lease_file(w: &World) -> u64 {
    w.server.core().leases.lease_info(crate::lease::ClientGuid(G1), crate::lease::LeaseKey(K1)).unwrap().file
}

/// A CANCEL of the parked CREATE fails the elements waiting behind it with
/// the same status; a CREATE that fails after its wait fails them too.
#[test]
fn a_parked_chain_fails_as_its_create_does() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    w.open_lease(&mut a, "c.txt", K1, RWH, None);
    let got = create_query_close(&mut w, &mut b, "c.txt");
    let ids = expect_chain_interims(&got[1..], b.conn);
    let mut m = raw_header(command::CANCEL, 0, b.session, 0, FLAG_ASYNC);
    m[32..40].copy_from_slice(&ids[0].to_le_bytes());
    m.extend_from_slice(&[4, 0, 0, 0]);
    let mut framed = vec![0, 0, 0, m.len() as u8];
    framed.extend_from_slice(&m);
    w.server.handle_input(b.conn, &framed, w.now);
    let got = w.drain();
    assert_eq!(got.len(), 3, "{got:?}");
    for (g, id) in got.iter().zip(&ids) {
        assert_eq!((g.r.hdr.async_id, g.r.status()), (*id, status::CANCELLED));
    }
    assert_eq!(w.server.core().leases.parked(), 0);

    // B's overwrite-only chain against a file A then deletes while B waits:
    // the CREATE of a file that must exist fails, and so do the others.
    let frame = related_chain(
        &mut b,
        &[
            (command::CREATE, create_req("c.txt", RW, disposition::OPEN, 0, &[])),
            (command::QUERY_INFO, query_info_body(FileId::RELATED, 1, 5)),
            (command::CLOSE, close_body(FileId::RELATED, 0)),
        ],
    );
    w.server.handle_input(b.conn, &frame, w.now);
    let got = w.drain();
    let ids = expect_chain_interims(&got, b.conn);
    let root = w.server.vfs().root();
    w.server.vfs().remove(root, "c.txt", crate::time::Timespec::new(1, 0)).unwrap();
    w.now += BREAK_TIMEOUT;
    let got = w.timeout();
    assert_eq!(got.len(), 3, "{got:?}");
    for (g, id) in got.iter().zip(&ids) {
        assert_eq!((g.r.hdr.async_id, g.r.status()), (*id, status::OBJECT_NAME_NOT_FOUND));
    }
}

use crate::testing::smb_client::lock_body;

const EXCLUSIVE: u32 = 0x02;
const EXCLUSIVE_NOW: u32 = 0x12;
const UNLOCK: u32 = 0x04;

/// A and B open f.txt; A locks bytes 0..10; B's blocking lock of the same
/// range goes async. Returns B's FileId and the AsyncId of its LOCK.
fn blocked_lock(w: &mut World, a: &mut Peer, b: &mut Peer) -> (FileId, FileId, u64) {
    let ra = w.call(a, command::CREATE, &create_req("f.txt", RW, disposition::OPEN_IF, 0, &[]));
    let rb = w.call(b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    assert_eq!(w.call(a, command::LOCK, &lock_body(ra.file_id(), 0, 10, EXCLUSIVE_NOW)).status(), status::SUCCESS);
    let got = w.send(b, command::LOCK, &lock_body(rb.file_id(), 0, 10, EXCLUSIVE));
    assert_eq!(got.len(), 1, "only the interim response: {got:?}");
    let async_id = expect_interim(&got[0], b.conn);
    assert_eq!(got[0].r.hdr.command, command::LOCK);
    assert_eq!(w.server.core().leases.lock_waits(), 1);
    (ra.file_id(), rb.file_id(), async_id)
}

/// MS-SMB2 3.3.5.14: a lock without SMB2_LOCKFLAG_FAIL_IMMEDIATELY waits
/// (interim STATUS_PENDING) and succeeds once the conflicting lock goes.
#[test]
fn blocking_lock_waits_for_the_unlock() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let (fa, fb, async_id) = blocked_lock(&mut w, &mut a, &mut b);
    // Time passes; nothing is answered.
    w.now += Duration::from_secs(60);
    assert!(w.timeout().is_empty());
    let got = w.send(&mut a, command::LOCK, &lock_body(fa, 0, 10, UNLOCK));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].conn, got[0].r.status()), (a.conn, status::SUCCESS));
    expect_final(&got[1], b.conn, async_id, command::LOCK);
    assert_eq!(got[1].r.status(), status::SUCCESS);
    assert_eq!(w.server.core().leases.lock_waits(), 0);
    // B holds the range now.
    assert_eq!(w.call(&mut a, command::READ, &read_body(fa, 0, 4)).status(), 0xC000_0054);
    assert_eq!(w.call(&mut a, command::LOCK, &lock_body(fa, 0, 10, EXCLUSIVE_NOW)).status(), 0xC000_0055);
    assert_eq!(w.call(&mut b, command::LOCK, &lock_body(fb, 0, 10, UNLOCK)).status(), status::SUCCESS);
}

/// MS-SMB2 3.3.5.16: CANCEL of a waiting lock answers STATUS_CANCELLED and
/// the lock is not granted later.
#[test]
fn cancel_of_a_blocking_lock() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let (fa, fb, async_id) = blocked_lock(&mut w, &mut a, &mut b);
    let mut m = raw_header(command::CANCEL, 0, b.session, 0, FLAG_ASYNC);
    m[32..40].copy_from_slice(&async_id.to_le_bytes());
    m.extend_from_slice(&[4, 0, 0, 0]);
    let mut framed = vec![0, 0, 0, m.len() as u8];
    framed.extend_from_slice(&m);
    w.server.handle_input(b.conn, &framed, w.now);
    let got = w.drain();
    assert_eq!(got.len(), 1, "{got:?}");
    expect_final(&got[0], b.conn, async_id, command::LOCK);
    assert_eq!(got[0].r.status(), status::CANCELLED);
    assert_eq!(w.server.core().leases.lock_waits(), 0);
    // The unlock then grants nothing.
    assert_eq!(w.call(&mut a, command::LOCK, &lock_body(fa, 0, 10, UNLOCK)).status(), status::SUCCESS);
    assert_eq!(w.call(&mut b, command::LOCK, &lock_body(fb, 0, 10, UNLOCK)).status(), 0xC000_007E);
}

/// The holder's CLOSE drops its locks: the waiting lock is granted.
#[test]
fn close_of_the_holder_grants_a_blocking_lock() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let (fa, fb, async_id) = blocked_lock(&mut w, &mut a, &mut b);
    let got = w.send(&mut a, command::CLOSE, &fid_body(24, fa, 8, &[]));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].conn, got[0].r.status()), (a.conn, status::SUCCESS));
    expect_final(&got[1], b.conn, async_id, command::LOCK);
    assert_eq!(got[1].r.status(), status::SUCCESS);
    assert_eq!(w.call(&mut b, command::LOCK, &lock_body(fb, 0, 10, UNLOCK)).status(), status::SUCCESS);
}

/// Closing the waiting open fails its pending LOCK with
/// STATUS_RANGE_NOT_LOCKED, as Windows and smbd answer (smb/release.rs).
#[test]
fn close_of_the_waiting_open_fails_its_lock() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let (fa, fb, async_id) = blocked_lock(&mut w, &mut a, &mut b);
    let got = w.send(&mut b, command::CLOSE, &fid_body(24, fb, 8, &[]));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].r.hdr.command, got[0].r.status()), (command::CLOSE, status::SUCCESS));
    expect_final(&got[1], b.conn, async_id, command::LOCK);
    assert_eq!(got[1].r.status(), crate::smb::lease::RANGE_NOT_LOCKED);
    assert_eq!(w.server.core().leases.lock_waits(), 0);
    assert_eq!(w.call(&mut a, command::LOCK, &lock_body(fa, 0, 10, UNLOCK)).status(), status::SUCCESS);
}

/// A dropped connection forgets its waiting lock.
#[test]
fn disconnect_forgets_a_blocking_lock() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let (fa, _, _) = blocked_lock(&mut w, &mut a, &mut b);
    w.server.handle_closed(b.conn, w.now);
    assert_eq!(w.server.core().leases.lock_waits(), 0);
    let got = w.send(&mut a, command::LOCK, &lock_body(fa, 0, 10, UNLOCK));
    assert_eq!(got.len(), 1, "{got:?}");
}

/// MS-SMB2 3.3.5.14: several locks in one request must all fail
/// immediately.
#[test]
fn several_blocking_locks_in_one_request_are_refused() {
    let mut w = World::new();
    let mut a = w.connect(G1, 0x0311);
    let ra = w.call(&mut a, command::CREATE, &create_req("f.txt", RW, disposition::OPEN_IF, 0, &[]));
    let mut body = lock_body(ra.file_id(), 0, 10, EXCLUSIVE_NOW);
    body[2] = 2;
    body.extend_from_slice(&20u64.to_le_bytes());
    body.extend_from_slice(&10u64.to_le_bytes());
    body.extend_from_slice(&EXCLUSIVE.to_le_bytes());
    body.extend_from_slice(&[0; 4]);
    assert_eq!(w.call(&mut a, command::LOCK, &body).status(), status::INVALID_PARAMETER);
    assert_eq!(w.call(&mut a, command::LOCK, &lock_body(ra.file_id(), 0, 10, UNLOCK)).status(), 0xC000_007E);
}

// ---- classic oplocks (MS-FSA 2.1.4.12, 2.1.5.1.2.2) ----

const STAT: u32 = 0x0010_0180; // FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE

/// A CREATE body with `share` asking for classic oplock `oplock`.
fn oplock_req(name: &str, access: u32, share: u32, disp: u32, oplock: u8) -> Vec<u8> {
    let mut b = create_body(name, access, share, disp, options::NON_DIRECTORY_FILE, &[]);
    b[3] = oplock;
    b
}

fn expect_oplock_break(g: &Got, conn: ConnId, fid: FileId, level: u8) {
    assert!(g.is_break(), "an oplock break: {g:?}");
    assert_eq!(g.conn, conn);
    let n = OplockBreak::decode(&g.r.body).unwrap();
    assert_eq!((FileId::decode(&n.file_id, 0).unwrap(), n.level), (fid, level));
}

/// smbtorture smb2.oplock.batch1, brl1, levelii500: a level II holder's own
/// write or byte-range lock breaks its oplock to none, without an ack (an
/// ack is then STATUS_INVALID_OPLOCK_PROTOCOL); its own read does not.
#[test]
fn level_ii_is_broken_to_none_by_its_own_write_and_lock() {
    for cmd in [command::WRITE, command::LOCK] {
        let mut w = World::new();
        let mut a = w.connect(G1, 0x0311);
        let ra = w.call(&mut a, command::CREATE, &oplock_req("f.txt", RW, SHARE_ALL, disposition::OPEN_IF, 0x01));
        assert_eq!(ra.body[2], 0x01, "level II");
        let fid = ra.file_id();
        // One message: the read's answer (END_OF_FILE), no break.
        assert_eq!(w.call(&mut a, command::READ, &read_body(fid, 0, 1)).hdr.command, command::READ);
        let body = match cmd {
            command::WRITE => write_body(fid, 0, b"x"),
            _ => lock_body(fid, 0, 1, EXCLUSIVE_NOW),
        };
        let got = w.send(&mut a, cmd, &body);
        assert_eq!(got.len(), 2, "{got:?}");
        expect_oplock_break(&got[0], a.conn, fid, 0);
        assert_eq!((got[1].r.hdr.command, got[1].r.status()), (cmd, status::SUCCESS));
        let r = w.call(&mut a, command::OPLOCK_BREAK, &oplock_ack_body(fid, 0));
        assert_eq!(r.status(), status::INVALID_OPLOCK_PROTOCOL, "no break awaits an ack");
    }
}

/// smbtorture smb2.oplock.exclusive4, batch8: an open without data access
/// takes part in no sharing check and breaks nothing; it gets no oplock.
#[test]
fn stat_open_beside_an_exclusive_share_none_open_succeeds_without_a_break() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let ra = w.call(&mut a, command::CREATE, &oplock_req("f.txt", RW, 0, disposition::OPEN_IF, 0x08));
    assert_eq!(ra.body[2], 0x08, "EXCLUSIVE");
    let rb = w.call(&mut b, command::CREATE, &oplock_req("f.txt", STAT, 0, disposition::OPEN, 0x08));
    assert_eq!((rb.status(), rb.body[2]), (status::SUCCESS, 0));
    // A data open still meets the share mode.
    let rc = w.call(&mut b, command::CREATE, &oplock_req("f.txt", RW, SHARE_ALL, disposition::OPEN, 0));
    assert_eq!(rc.status(), status::SHARING_VIOLATION);
}

/// smbtorture smb2.oplock.exclusive5, batch13, batch16: a stat open that
/// overwrites breaks an exclusive oplock to none and waits for the ack.
#[test]
fn stat_open_that_overwrites_breaks_exclusive_to_none() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let ra = w.call(&mut a, command::CREATE, &oplock_req("f.txt", RW, SHARE_ALL, disposition::OPEN_IF, 0x08));
    let got = w.send(&mut b, command::CREATE, &oplock_req("f.txt", STAT, SHARE_ALL, disposition::OVERWRITE_IF, 0x01));
    assert_eq!(got.len(), 2, "{got:?}");
    expect_oplock_break(&got[0], a.conn, ra.file_id(), 0);
    let async_id = expect_interim(&got[1], b.conn);
    let got = w.send(&mut a, command::OPLOCK_BREAK, &oplock_ack_body(ra.file_id(), 0));
    assert_eq!(got.len(), 2, "{got:?}");
    expect_final(&got[1], b.conn, async_id, command::CREATE);
    assert_eq!((got[1].r.status(), got[1].r.body[2]), (status::SUCCESS, 0x01), "level II");
}

/// smbtorture smb2.oplock.batch12: growing the allocation breaks like end
/// of file: the opener's open breaks batch to II, the set-info II to none.
#[test]
fn allocation_change_breaks_level_ii_to_none() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let ra = w.call(&mut a, command::CREATE, &oplock_req("f.txt", RW, SHARE_ALL, disposition::OPEN_IF, 0x09));
    let got = w.send(&mut b, command::CREATE, &oplock_req("f.txt", RW, SHARE_ALL, disposition::OPEN, 0));
    expect_oplock_break(&got[0], a.conn, ra.file_id(), 1);
    let got = w.send(&mut a, command::OPLOCK_BREAK, &oplock_ack_body(ra.file_id(), 1));
    let fb = got[1].r.file_id();
    let got = w.send(&mut b, command::SET_INFO, &set_info_body(fb, 19, &(65536u64 * 8).to_le_bytes()));
    assert_eq!(got.len(), 2, "{got:?}");
    expect_oplock_break(&got[0], a.conn, ra.file_id(), 0);
    assert_eq!(got[1].r.status(), status::SUCCESS);
}

/// smbtorture smb2.oplock.exclusive6, batch19: a rename into a directory
/// that is open with DELETE access is a sharing violation, and breaks
/// nothing; once that open is gone the rename succeeds.
#[test]
fn rename_into_a_directory_open_for_delete_is_a_sharing_violation() {
    let mut w = World::new();
    let mut a = w.connect(G1, 0x0311);
    let dir_req = |access| {
        let mut b = create_body("d", access, 3, disposition::OPEN_IF, options::DIRECTORY_FILE, &[]);
        b[3] = 0;
        b
    };
    let d = w.call(&mut a, command::CREATE, &dir_req(RW | DELETE)).file_id();
    let rf = w.call(&mut a, command::CREATE, &oplock_req("d\\f1", RW | DELETE, 0, disposition::OPEN_IF, 0x09));
    assert_eq!(rf.body[2], 0x09, "BATCH");
    let rename = set_info_body(rf.file_id(), 10, &rename_info("d\\f2", false));
    let got = w.send(&mut a, command::SET_INFO, &rename);
    assert_eq!(got.len(), 1, "no break: {got:?}");
    assert_eq!(got[0].r.status(), status::SHARING_VIOLATION);
    w.call(&mut a, command::CLOSE, &close_body(d, 0));
    let d = w.call(&mut a, command::CREATE, &dir_req(RW)).file_id();
    assert_eq!(w.call(&mut a, command::SET_INFO, &rename).status(), status::SUCCESS);
    w.call(&mut a, command::CLOSE, &close_body(d, 0));
}

/// smbtorture smb2.lease.v2_complex1: MS-SMB2 3.3.4.7 sends a lease break on
/// the first available connection of the ClientGuid, even when the lease's
/// opens all came in on another one.
#[test]
fn lease_break_goes_to_the_first_connection_of_the_client_guid() {
    let mut w = World::new();
    let (mut a1, mut a2, mut b) = (w.connect(G1, 0x0311), w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    assert_eq!(lease_of(&w.open_lease(&mut a2, "f.txt", K1, RWH, None)).unwrap().state, RWH);
    let got = w.send(&mut b, command::CREATE, &create_req("f.txt", RW, disposition::OPEN, 0, &[]));
    expect_lease_break(&got[0], a1.conn, K1, RWH, RH, true);
    let got = w.send(&mut a2, command::OPLOCK_BREAK, &ack_body(K1, RH));
    let fb = got[1].r.file_id();
    // Once a1 is gone, a2 is the first one left.
    w.call(&mut a1, command::ECHO, &[4, 0, 0, 0]);
    w.server.handle_closed(a1.conn, w.now);
    let got = w.send(&mut b, command::WRITE, &write_body(fb, 0, b"x"));
    expect_lease_break(&got[0], a2.conn, K1, RH, NONE, true);
}

// ---- directory leases ----

/// SMB2_GLOBAL_CAP_DIRECTORY_LEASING (MS-SMB2 2.2.4).
const CAP_DIRECTORY_LEASING: u32 = 0x20;
const DIR_ACCESS: u32 = 0x0010_0081;

fn open_dir(w: &mut World, p: &mut Peer, name: &str, contexts: &[u8]) -> Resp {
    let mut body = create_body(name, DIR_ACCESS, SHARE_ALL, disposition::OPEN_IF, options::DIRECTORY_FILE, contexts);
    body[3] = if contexts.is_empty() { 0 } else { 0xFF };
    w.call(p, command::CREATE, &body)
}

#[test]
fn directory_leasing_is_advertised_and_granted_on_3x_only() {
    let mut w = World::new();
    // MS-SMB2 3.3.5.4: only on 3.x, and only to a client that asks for it.
    for (dialect, client_caps, offered) in [(0x0311u16, 0x64u32, true), (0x0311, 0x44, false), (0x0210, 0x64, false)] {
        w.next_port += 1;
        let peer: SocketAddr = format!("127.0.0.1:{}", w.next_port).parse().unwrap();
        let conn = w.server.accept(Protocol::Smb, peer, w.now).unwrap();
        let mut p = Peer { conn, mid: 0, session: 0, tree: 0 };
        let mut nb = negotiate_body(&[dialect], dialect == 0x0311);
        nb[8..12].copy_from_slice(&client_caps.to_le_bytes());
        let r = w.call(&mut p, command::NEGOTIATE, &nb);
        let caps = u32_at(&r.body, 24).unwrap();
        assert_eq!(caps & CAP_DIRECTORY_LEASING != 0, offered, "dialect {dialect:#x}, client {client_caps:#x}");
    }
    // A directory asking for RWH gets RH (never W) on 3.1.1 and no lease
    // on 2.1.
    let mut a = w.connect(G1, 0x0311);
    let r = open_dir(&mut w, &mut a, "d", &lease_ctx(K1, RWH, Some(0)));
    assert_eq!(r.body[2], 0xFF);
    assert_eq!(lease_of(&r).unwrap().state, RH);
    let mut b = w.connect(G2, 0x0210);
    let r = open_dir(&mut w, &mut b, "d", &lease_ctx(K2, RH, None));
    assert_eq!((r.body[2], lease_of(&r)), (0, None));
}

#[test]
fn delete_on_close_in_a_leased_directory_breaks_it_before_the_close_response() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    assert_eq!(open_dir(&mut w, &mut b, "d", &[]).status(), status::SUCCESS);
    let f = create_req("d\\f", RW, disposition::OPEN_IF, 0, &[]);
    let rf = w.call(&mut b, command::CREATE, &f);
    w.call(&mut b, command::CLOSE, &close_body(rf.file_id(), 0));
    let r = open_dir(&mut w, &mut a, "d", &lease_ctx(K1, RH, Some(0)));
    assert_eq!(lease_of(&r).unwrap().state, RH);
    // Opening the child changes nothing in the directory.
    let mut del = create_body("d\\f", RW | 0x0001_0000, SHARE_ALL, disposition::OPEN, 0x1040, &[]);
    del[3] = 0;
    let rd = w.call(&mut b, command::CREATE, &del);
    assert_eq!(rd.status(), status::SUCCESS);
    let got = w.send(&mut b, command::CLOSE, &close_body(rd.file_id(), 0));
    assert_eq!(got.len(), 2, "{got:?}");
    expect_lease_break(&got[0], a.conn, K1, RH, NONE, true);
    assert_eq!((got[1].conn, got[1].r.status()), (b.conn, status::SUCCESS));
    assert_eq!(w.call(&mut a, command::OPLOCK_BREAK, &ack_body(K1, NONE)).status(), status::SUCCESS);
}

/// MS-FSA 2.1.5.5: the close of a delete-on-close open marks the file
/// deleted as FileDispositionInformation does (2.1.4.12: H breaks); the
/// open itself breaks nothing of an RH holder (smbtorture
/// smb2.lease.unlink).
#[test]
fn closing_a_delete_on_close_open_breaks_the_other_holders_handle_caching() {
    let mut w = World::new();
    let (mut a, mut b) = (w.connect(G1, 0x0311), w.connect(G2, 0x0311));
    let r = w.open_lease(&mut a, "u.txt", K1, RH, None);
    assert_eq!(lease_of(&r).unwrap().state, RH);
    let opts = options::NON_DIRECTORY_FILE | options::DELETE_ON_CLOSE;
    let body = create_body("u.txt", DELETE, SHARE_ALL, disposition::OPEN, opts, &[]);
    let r = w.call(&mut b, command::CREATE, &body);
    assert_eq!(r.status(), status::SUCCESS, "opened with no break");
    let got = w.send(&mut b, command::CLOSE, &close_body(r.file_id(), 0));
    assert_eq!(got.len(), 2, "{got:?}");
    // The break goes out ahead of the reply (MS-SMB2 3.3.4.7): the client
    // looks for it once it has the reply.
    expect_lease_break(&got[0], a.conn, K1, RH, R, true);
    assert_eq!((got[1].conn, got[1].r.status()), (b.conn, status::SUCCESS));
    assert_eq!(w.call(&mut a, command::OPLOCK_BREAK, &ack_body(K1, R)).status(), status::SUCCESS);
}
