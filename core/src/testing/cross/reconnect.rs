//! A client that comes back on another connection, on the simulated clock:
//! a guest session named as PreviousSessionId ends (MS-SMB2 3.3.5.5.3) and
//! its durable open waits for the new one; a CREATE with the AppInstanceId
//! of an open from another client closes that open instead of breaking it
//! (3.3.5.9.13); a resilient open (FSCTL_LMR_REQUEST_RESILIENCY,
//! 3.3.5.15.9) outlives its connection whatever its caching, and its LOCKs
//! are checked for replays (3.3.5.14).

use super::*;
use crate::smb::app_instances::APP_INSTANCE_ID;
use crate::smb::status;
use crate::smb::wire::create::disposition;
use crate::smb::wire::create_context::CreateContext;

const CREATE_GUID: [u8; 16] = [0xD7; 16];
const OTHER_GUID: [u8; 16] = [0xC2; 16];
const BATCH: u8 = 0x09;
const RWH: u32 = 7;

/// A new connection of client `guid` that logs in with `token` (the
/// AUTHENTICATE leg), naming `previous` as PreviousSessionId, and connects
/// the share. Returns the connection and the SessionFlags granted.
fn peer_as(x: &mut X, guid: [u8; 16], token: &[u8], previous: u64) -> (ConnId, u16) {
    let port = 41000 + x.peers.len();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let conn = x.server.accept(Protocol::Smb, addr, x.now).unwrap();
    x.peers.push(Peer { conn, mid: 0, session: 0, tree: 0, inbox: Vec::new() });
    let r = x.smb_call(conn, command::NEGOTIATE, &smb_peer::negotiate_body(guid));
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    let r = x.smb_call(conn, command::SESSION_SETUP, &smb_peer::session_setup_body(&smb_peer::ntlm_negotiate()));
    x.peer(conn).session = r.hdr.session_id;
    let mut body = smb_peer::session_setup_body(token);
    // PreviousSessionId (MS-SMB2 2.2.5) at offset 16 of the body.
    body[16..24].copy_from_slice(&previous.to_le_bytes());
    let r = x.smb_call(conn, command::SESSION_SETUP, &body);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    let flags = u16::from_le_bytes([r.body[2], r.body[3]]);
    let r = x.smb_call(conn, command::TREE_CONNECT, &smb_peer::tree_connect_body("\\\\127.0.0.1\\SHARE"));
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    x.peer(conn).tree = r.hdr.tree_id;
    (conn, flags)
}

fn guest(x: &mut X, guid: [u8; 16], previous: u64) -> ConnId {
    let (conn, flags) = peer_as(x, guid, &smb_peer::ntlm_guest_authenticate(), previous);
    assert_eq!(flags, 1, "SMB2_SESSION_FLAG_IS_GUEST");
    conn
}

fn session_of(x: &mut X, conn: ConnId) -> u64 {
    x.peer(conn).session
}

/// `conn` opens `name` with an RWH lease and a durable v2 handle.
fn open_durable(x: &mut X, conn: ConnId, name: &str) -> FileId {
    let ctxs = [
        CreateContext::Lease(smb_peer::lease_v2(KEY, RWH)),
        CreateContext::DurableRequestV2 { timeout: 60_000, flags: 0, create_guid: CREATE_GUID },
    ];
    let body = smb_peer::create_with_contexts(name, smb_peer::OPLOCK_LEVEL_LEASE, &ctxs, 7, disposition::OPEN_IF);
    let r = x.smb_call(conn, command::CREATE, &body);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    r.file_id()
}

fn reconnect_v2(x: &mut X, conn: ConnId, name: &str, fid: FileId) -> Msg {
    let mut id = Vec::new();
    fid.encode(&mut id);
    let ctxs = [
        CreateContext::Lease(smb_peer::lease_v2(KEY, 0)),
        CreateContext::DurableReconnectV2 { file_id: id.try_into().unwrap(), create_guid: CREATE_GUID, flags: 0 },
    ];
    x.smb_call(conn, command::CREATE, &smb_peer::create_with_contexts(name, 0, &ctxs, 7, disposition::OPEN))
}

#[test]
fn a_guest_session_naming_a_previous_guest_session_ends_it_and_its_durable_open_waits() {
    let mut x = X::new();
    x.file("f", b"data");
    let old = guest(&mut x, GUID, 0);
    let fid = open_durable(&mut x, old, "f");
    let old_session = session_of(&mut x, old);
    let new = guest(&mut x, GUID, old_session);
    // The old session is gone: its requests answer USER_SESSION_DELETED.
    let r = x.smb_call(old, command::READ, &smb_peer::read_body(fid, 0, 4));
    assert_eq!(r.hdr.status, status::USER_SESSION_DELETED);
    assert!(!x.server.smb_shared().sessions.contains_key(&old_session));
    // Its durable open waits for the client, who takes it back.
    assert_eq!(x.server.smb_shared().durable.preserved(), 1);
    let r = reconnect_v2(&mut x, new, "f", fid);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    assert_eq!(r.file_id().persistent, fid.persistent);
}

#[test]
fn an_anonymous_session_naming_a_previous_session_ends_nothing() {
    let mut x = X::new();
    x.file("f", b"data");
    let old = guest(&mut x, GUID, 0);
    let fid = open_durable(&mut x, old, "f");
    let old_session = session_of(&mut x, old);
    // Anonymous proves no account: the PreviousSessionId is ignored.
    let (_, flags) = peer_as(&mut x, GUID, &smb_peer::ntlm_anonymous_authenticate(), old_session);
    assert_eq!(flags, 2, "SMB2_SESSION_FLAG_IS_NULL");
    let r = x.smb_call(old, command::READ, &smb_peer::read_body(fid, 0, 4));
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    assert_eq!(x.server.smb_shared().durable.preserved(), 0);
}

/// SMB2_CREATE_APP_INSTANCE_ID (MS-SMB2 2.2.13.2.13) carrying `id`.
fn app_instance(id: [u8; 16]) -> CreateContext {
    let mut data = vec![20, 0, 0, 0];
    data.extend_from_slice(&id);
    CreateContext::Unknown { name: bytes::Bytes::from_static(&APP_INSTANCE_ID), data: data.into() }
}

/// `conn` asks for a batch oplock and a durable v2 handle on `name` with
/// AppInstanceId `id`; returns every response to the request.
fn open_instance(x: &mut X, conn: ConnId, name: &str, create_guid: [u8; 16], id: [u8; 16]) -> Vec<Msg> {
    let ctxs = [CreateContext::DurableRequestV2 { timeout: 60_000, flags: 0, create_guid }, app_instance(id)];
    let mid =
        x.smb_send(conn, command::CREATE, &smb_peer::create_with_contexts(name, BATCH, &ctxs, 0, disposition::OPEN_IF));
    x.smb_responses(conn, mid)
}

#[test]
fn an_open_with_the_app_instance_id_of_another_clients_open_closes_it_without_a_break() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"data");
    let a = x.smb;
    let r = open_instance(&mut x, a, "f", [0xA1; 16], [0x11; 16]);
    assert_eq!(r.last().unwrap().hdr.status, smb_peer::SUCCESS);
    let old = r.last().unwrap().file_id();
    assert_eq!(r.last().unwrap().body[2], BATCH);
    // The application moved to client B.
    let b = x.smb_peer(OTHER_GUID);
    let r = open_instance(&mut x, b, "f", [0xB1; 16], [0x11; 16]);
    let done = r.last().unwrap();
    assert_eq!(done.hdr.status, smb_peer::SUCCESS, "{r:?}");
    assert_eq!(done.body[2], BATCH, "the new open has the batch oplock");
    assert_eq!(x.server.stats().breaks_sent, 0, "closed, not broken");
    assert!(x.peers[0].inbox.iter().all(|m| !m.is_break()));
    assert_eq!(x.server.core().leases.opens_on(id).count(), 1, "only the new open");
    let r = x.smb_call(a, command::CLOSE, &smb_peer::close_body(old));
    assert_eq!(r.hdr.status, status::FILE_CLOSED);
}

#[test]
fn another_app_instance_id_breaks_as_usual() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"data");
    let a = x.smb;
    let r = open_instance(&mut x, a, "f", [0xA1; 16], [0x11; 16]);
    assert_eq!(r.last().unwrap().body[2], BATCH);
    let b = x.smb_peer(OTHER_GUID);
    let r = open_instance(&mut x, b, "f", [0xB1; 16], [0x22; 16]);
    assert_eq!(r.len(), 1, "parked behind the break: the interim response only");
    assert_eq!(r[0].hdr.status, status::PENDING);
    assert_eq!(x.server.stats().breaks_sent, 1);
    assert_eq!(x.server.core().leases.opens_on(id).count(), 1, "A's open stays");
}

/// FSCTL_LMR_REQUEST_RESILIENCY (MS-SMB2 2.2.31.3) of `fid` asking
/// `timeout_ms`.
fn request_resiliency(x: &mut X, conn: ConnId, fid: FileId, timeout_ms: u32) -> u32 {
    let mut input = timeout_ms.to_le_bytes().to_vec();
    input.extend_from_slice(&[0; 4]);
    let mut b = vec![57, 0, 0, 0];
    b.extend_from_slice(&0x0014_01D4u32.to_le_bytes());
    fid.encode(&mut b);
    b.extend_from_slice(&120u32.to_le_bytes()); // InputOffset
    b.extend_from_slice(&(input.len() as u32).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // MaxInputResponse
    b.extend_from_slice(&0u32.to_le_bytes()); // OutputOffset
    b.extend_from_slice(&0u32.to_le_bytes()); // OutputCount
    b.extend_from_slice(&0u32.to_le_bytes()); // MaxOutputResponse
    b.extend_from_slice(&1u32.to_le_bytes()); // SMB2_0_IOCTL_IS_FSCTL
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&input);
    x.smb_call(conn, command::IOCTL, &b).hdr.status
}

/// LOCK of 10 bytes at `offset`, exclusive, failing at once, with
/// LockSequence `index` << 4 | `number`.
fn lock_body(fid: FileId, offset: u64, index: u32, number: u32) -> Vec<u8> {
    smb_peer::lock_body_seq(fid, offset, 10, smb_peer::LOCK_EXCLUSIVE_NOW, index, number)
}

/// A plain open (no oplock, no lease, share none) of `name` by `conn`.
fn open_plain(x: &mut X, conn: ConnId, name: &str) -> Msg {
    x.smb_call(conn, command::CREATE, &smb_peer::create_with(name, 0, None, 0, disposition::OPEN_IF))
}

fn reconnect_v1(x: &mut X, conn: ConnId, name: &str, fid: FileId) -> Msg {
    let mut id = Vec::new();
    fid.encode(&mut id);
    let ctxs = [CreateContext::DurableReconnect { file_id: id.try_into().unwrap() }];
    x.smb_call(conn, command::CREATE, &smb_peer::create_with_contexts(name, 0, &ctxs, 7, disposition::OPEN))
}

#[test]
fn a_resilient_open_without_caching_outlives_its_connection_and_replays_its_locks() {
    // Without multichannel, which checks lock sequences on every open.
    let mut x = X::with(NfsBreakPolicy::Wait, |c| c.smb.multichannel = false);
    let (id, _) = x.file("f", b"0123456789");
    let a = x.smb;
    let fid = open_plain(&mut x, a, "f").file_id();
    // Lock sequences are not checked before the open is resilient.
    assert_eq!(x.smb_call(a, command::LOCK, &lock_body(fid, 0, 1, 1)).hdr.status, smb_peer::SUCCESS);
    let r = x.smb_call(a, command::LOCK, &lock_body(fid, 0, 1, 1));
    assert_eq!(r.hdr.status, crate::smb::lease::LOCK_NOT_GRANTED);
    assert_eq!(request_resiliency(&mut x, a, fid, 301_000), status::INVALID_PARAMETER, "over the maximum");
    assert_eq!(request_resiliency(&mut x, a, fid, 30_000), smb_peer::SUCCESS);
    assert_eq!(x.smb_call(a, command::LOCK, &lock_body(fid, 100, 2, 1)).hdr.status, smb_peer::SUCCESS);
    assert_eq!(x.smb_call(a, command::LOCK, &lock_body(fid, 100, 2, 1)).hdr.status, smb_peer::SUCCESS, "a replay");
    x.at(secs(1));
    x.holder_disconnects();
    assert_eq!(x.server.smb_shared().durable.preserved(), 1, "kept without an oplock or lease");
    assert_eq!(x.server.core().leases.poll_timeout(), Some(x.base + secs(31)));
    // Its share mode (none) still holds against others.
    let b = x.smb_peer(OTHER_GUID);
    assert_eq!(open_plain(&mut x, b, "f").hdr.status, status::SHARING_VIOLATION);
    let c = x.smb_peer(GUID);
    let r = reconnect_v1(&mut x, c, "f", fid);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    let back = r.file_id();
    assert_eq!(
        x.smb_call(c, command::LOCK, &lock_body(back, 100, 2, 1)).hdr.status,
        smb_peer::SUCCESS,
        "still a replay"
    );
    assert_eq!(x.server.core().leases.locks_on(id).len(), 2, "each range locked once");
}

#[test]
fn a_resilient_open_is_closed_when_its_timeout_passes() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"data");
    let a = x.smb;
    let fid = open_plain(&mut x, a, "f").file_id();
    assert_eq!(request_resiliency(&mut x, a, fid, 10_000), smb_peer::SUCCESS);
    x.holder_disconnects();
    x.at(Duration::from_millis(9_999));
    x.tick();
    assert_eq!(x.server.core().leases.opens_on(id).count(), 1);
    x.at(secs(10));
    x.tick();
    assert_eq!(x.server.core().leases.opens_on(id).count(), 0);
    assert_eq!(x.server.smb_shared().durable.preserved(), 0);
    let c = x.smb_peer(GUID);
    assert_eq!(reconnect_v1(&mut x, c, "f", fid).hdr.status, status::OBJECT_NAME_NOT_FOUND);
}
