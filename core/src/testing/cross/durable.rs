//! Durable handles across a lost connection (docs/LEASES.md "Durable
//! handles"), on the simulated clock: the holder of an RWH lease and a
//! durable v2 handle loses its connection and comes back on a new one; its
//! open waits for it until the durable timeout, unless another client (here
//! NFS) needs what it caches.

use super::*;
use crate::smb::status;
use crate::smb::wire::create::disposition;
use crate::smb::wire::create_context::{CreateContext, ResponseContext};

const CREATE_GUID: [u8; 16] = [0xD2; 16];
/// The Timeout the holder asks for, and gets.
const KEEP: Duration = Duration::from_secs(60);
const RWH: u32 = 7;

fn durable_v2(create_guid: [u8; 16]) -> CreateContext {
    CreateContext::DurableRequestV2 { timeout: KEEP.as_millis() as u32, flags: 0, create_guid }
}

/// The holder opens `name` with an RWH lease asking for `state` and a
/// durable v2 handle; returns the response.
fn open_durable(x: &mut X, name: &str, state: u32) -> Msg {
    let ctxs = [CreateContext::Lease(smb_peer::lease_v2(KEY, state)), durable_v2(CREATE_GUID)];
    let body = smb_peer::create_with_contexts(name, smb_peer::OPLOCK_LEVEL_LEASE, &ctxs, 7, disposition::OPEN_IF);
    x.smb_call(x.smb, command::CREATE, &body)
}

/// The holder's durable open of `file` with RWH.
fn hold_durable(x: &mut X, file: ObjectId) -> FileId {
    let name = x.names[&file].clone();
    let r = open_durable(x, &name, RWH);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    let granted = ResponseContext::DurableV2 { timeout: KEEP.as_millis() as u32, flags: 0 };
    assert!(r.create_contexts().contains(&granted), "durable: {:?}", r.create_contexts());
    x.fid = Some(r.file_id());
    r.file_id()
}

/// A DH2C reconnect of `fid` on `conn` with the lease key and `create_guid`;
/// everything else in the request is junk the server must ignore.
fn reconnect(x: &mut X, conn: ConnId, name: &str, fid: FileId, create_guid: [u8; 16], key: [u8; 16]) -> Msg {
    let mut id = Vec::new();
    fid.encode(&mut id);
    let ctxs = [
        CreateContext::Lease(smb_peer::lease_v2(key, 0)),
        CreateContext::DurableReconnectV2 { file_id: id.try_into().unwrap(), create_guid, flags: 0 },
    ];
    x.smb_call(conn, command::CREATE, &smb_peer::create_with_contexts(name, 0x78, &ctxs, 0x1234, 0x1234))
}

fn read_all(x: &mut X, conn: ConnId, fid: FileId) -> Vec<u8> {
    let r = x.smb_call(conn, command::READ, &smb_peer::read_body(fid, 0, 100));
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    smb_peer::read_response_data(&r.body).unwrap().to_vec()
}

#[test]
fn reconnect_within_the_timeout_finds_the_handle_the_lease_and_the_data() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"old");
    let fid = hold_durable(&mut x, id);
    x.holder_writes(b"cached");
    x.at(secs(1));
    x.holder_disconnects();
    assert_eq!(x.lease().state, LeaseState::RWH, "the lease waits for its holder");
    assert_eq!(x.server.core().leases.poll_timeout(), Some(x.base + secs(1) + KEEP));
    x.at(secs(1) + KEEP - Duration::from_micros(1));
    x.tick();
    let conn = x.smb_peer(GUID);
    let r = reconnect(&mut x, conn, "f", fid, CREATE_GUID, KEY);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    let back = r.file_id();
    assert_eq!(back.persistent, fid.persistent, "the same open");
    assert_ne!(back.volatile, fid.volatile, "under a new volatile id");
    let lease = r.create_contexts().into_iter().find_map(|c| match c {
        ResponseContext::Lease(l) => Some(l),
        _ => None,
    });
    assert_eq!(lease.map(|l| (l.key, l.state)), Some((KEY, RWH)));
    assert_eq!(read_all(&mut x, conn, back), b"cached");
    assert_eq!(x.server.core().leases.poll_timeout(), None, "no durable deadline once back");
    assert_eq!(x.server.smb_shared().durable.preserved(), 0);
    let st = x.server.stats();
    assert_eq!((st.durable_preserved, st.durable_reconnected, st.durable_given_up), (1, 1, 0));
    // The old handle is gone; the open closes through the new one.
    let r = x.smb_call(conn, command::CLOSE, &smb_peer::close_body(back));
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    assert!(x.lease_gone());
}

#[test]
fn the_durable_timeout_gives_the_open_up_to_the_microsecond() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"old");
    let fid = hold_durable(&mut x, id);
    x.holder_disconnects();
    x.at(KEEP - Duration::from_micros(1));
    x.tick();
    assert_eq!(x.lease().state, LeaseState::RWH, "1 µs before the timeout");
    x.at(KEEP);
    x.tick();
    assert!(x.lease_gone(), "the open and its lease are closed");
    assert_eq!(x.server.smb_shared().durable.preserved(), 0, "the SMB side forgot it");
    assert_eq!(x.server.stats().durable_given_up, 1);
    assert!(x.server.smb_shared().files.is_empty());
    let conn = x.smb_peer(GUID);
    let r = reconnect(&mut x, conn, "f", fid, CREATE_GUID, KEY);
    assert_eq!(r.hdr.status, status::OBJECT_NAME_NOT_FOUND);
}

#[test]
fn an_nfs_write_in_the_gap_closes_the_durable_open_and_proceeds_at_once() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"old");
    let fid = hold_durable(&mut x, id);
    x.holder_writes(b"smb");
    x.holder_disconnects();
    x.at(secs(5));
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.status(xid), Some(OK), "answered from the WRITE itself, nobody to wait for");
    assert_eq!(x.server.core().leases.parked(), 0);
    assert_eq!(x.server.stats().breaks_sent, 0, "no notification into the void");
    assert!(x.lease_gone());
    assert_eq!(x.content(id), b"nfs");
    assert_eq!(x.server.core().leases.poll_timeout(), None);
    let conn = x.smb_peer(GUID);
    let r = reconnect(&mut x, conn, "f", fid, CREATE_GUID, KEY);
    assert_eq!(r.hdr.status, status::OBJECT_NAME_NOT_FOUND);
}

#[test]
fn a_reconnect_must_match_client_create_guid_and_lease_key_and_find_the_open_away() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"old");
    let fid = hold_durable(&mut x, id);
    let holder = x.smb;
    let r = reconnect(&mut x, holder, "f", fid, CREATE_GUID, KEY);
    assert_eq!(r.hdr.status, status::OBJECT_NAME_NOT_FOUND, "still connected");
    x.holder_disconnects();
    let other = x.smb_peer([0xEE; 16]);
    let r = reconnect(&mut x, other, "f", fid, CREATE_GUID, KEY);
    assert_eq!(r.hdr.status, status::OBJECT_NAME_NOT_FOUND, "another client's lease");
    let conn = x.smb_peer(GUID);
    let r = reconnect(&mut x, conn, "f", fid, [0x01; 16], KEY);
    assert_eq!(r.hdr.status, status::OBJECT_NAME_NOT_FOUND, "another CreateGuid");
    let r = reconnect(&mut x, conn, "f", fid, CREATE_GUID, [0x02; 16]);
    assert_eq!(r.hdr.status, status::OBJECT_NAME_NOT_FOUND, "another lease key");
    let r = reconnect(&mut x, conn, "g", fid, CREATE_GUID, KEY);
    assert_eq!(r.hdr.status, status::INVALID_PARAMETER, "another name (Lease.FileName)");
    assert_eq!(x.lease().state, LeaseState::RWH, "failed reconnects leave it waiting");
    let r = reconnect(&mut x, conn, "F", fid, CREATE_GUID, KEY);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS, "names compare without case");
}

#[test]
fn without_handle_caching_the_open_is_not_durable_and_closes_with_its_connection() {
    let mut x = X::new();
    x.file("f", b"old");
    let r = open_durable(&mut x, "f", 1);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    assert!(!r.create_contexts().iter().any(|c| matches!(c, ResponseContext::DurableV2 { .. })));
    x.holder_disconnects();
    assert!(x.lease_gone());
    assert!(x.server.smb_shared().files.is_empty());
}

#[test]
fn a_create_guid_in_use_is_a_duplicate_unless_replayed_in_its_session() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"old");
    let fid = hold_durable(&mut x, id);
    let r = open_durable(&mut x, "f", RWH);
    assert_eq!(r.hdr.status, status::DUPLICATE_OBJECTID);
    // The same CREATE flagged SMB2_FLAGS_REPLAY_OPERATION answers the open.
    let ctxs = [CreateContext::Lease(smb_peer::lease_v2(KEY, RWH)), durable_v2(CREATE_GUID)];
    let body = smb_peer::create_with_contexts("f", smb_peer::OPLOCK_LEVEL_LEASE, &ctxs, 7, disposition::OPEN_IF);
    let p = x.peers.iter_mut().find(|p| p.conn == x.smb).unwrap();
    let mut framed = smb_peer::request(command::CREATE, p.mid, p.session, p.tree, &body);
    p.mid += 1;
    // Flags is the little-endian u32 at header offset 16, after the 4-byte
    // Direct-TCP header: SMB2_FLAGS_REPLAY_OPERATION 0x20000000.
    framed[4 + 19] |= 0x20;
    x.server.handle_input(x.smb, &framed, x.now);
    x.collect();
    let conn = x.smb;
    let r = x.peers.iter_mut().find(|p| p.conn == conn).unwrap().inbox.pop().unwrap();
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    assert_eq!(r.file_id(), fid, "the open that exists");
    assert_eq!(x.server.core().leases.opens_on(id).count(), 1, "nothing new opened");
}

#[test]
fn preserved_opens_are_bounded() {
    let mut x = X::with(NfsBreakPolicy::Wait, |c| c.limits.max_preserved_opens = 1);
    let (a, _) = x.file("a", b"");
    let (b, _) = x.file("b", b"");
    hold_durable(&mut x, a);
    let ctxs = [CreateContext::Lease(smb_peer::lease_v2([0x4C; 16], RWH)), durable_v2([0xD3; 16])];
    let body = smb_peer::create_with_contexts("b", smb_peer::OPLOCK_LEVEL_LEASE, &ctxs, 7, disposition::OPEN_IF);
    assert_eq!(x.smb_call(x.smb, command::CREATE, &body).hdr.status, smb_peer::SUCCESS);
    x.holder_disconnects();
    assert_eq!(x.server.smb_shared().durable.preserved(), 1);
    assert_eq!(x.server.core().leases.opens_on(a).count() + x.server.core().leases.opens_on(b).count(), 1);
}

/// LOCK of 10 bytes at 0, exclusive and failing immediately, with
/// LockSequence `index` << 4 | `number`.
fn lock_body(fid: FileId, index: u32, number: u32) -> Vec<u8> {
    smb_peer::lock_body_seq(fid, 0, 10, smb_peer::LOCK_EXCLUSIVE_NOW, index, number)
}

#[test]
fn a_replayed_lock_on_a_durable_open_succeeds_without_locking_twice_even_after_a_reconnect() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"0123456789");
    let fid = hold_durable(&mut x, id);
    let holder = x.smb;
    assert_eq!(x.smb_call(holder, command::LOCK, &lock_body(fid, 1, 1)).hdr.status, smb_peer::SUCCESS);
    // Its reply was lost: the same LockSequence is answered SUCCESS.
    assert_eq!(x.smb_call(holder, command::LOCK, &lock_body(fid, 1, 1)).hdr.status, smb_peer::SUCCESS);
    assert_eq!(x.server.core().leases.locks_on(id).len(), 1, "locked once");
    // LockSequenceIndex 0 and 65 lie outside the array: no replay check.
    for index in [0, 65] {
        let r = x.smb_call(holder, command::LOCK, &lock_body(fid, index, 1));
        assert_eq!(r.hdr.status, crate::smb::lease::LOCK_NOT_GRANTED, "index {index}");
        let r = x.smb_call(holder, command::LOCK, &lock_body(fid, index, 1));
        assert_eq!(r.hdr.status, crate::smb::lease::LOCK_NOT_GRANTED, "index {index}");
    }
    x.holder_disconnects();
    let conn = x.smb_peer(GUID);
    let back = reconnect(&mut x, conn, "f", fid, CREATE_GUID, KEY).file_id();
    assert_eq!(x.smb_call(conn, command::LOCK, &lock_body(back, 1, 1)).hdr.status, smb_peer::SUCCESS);
    // Another LockSequenceNumber is a new request: the range is locked.
    let r = x.smb_call(conn, command::LOCK, &lock_body(back, 1, 2));
    assert_eq!(r.hdr.status, crate::smb::lease::LOCK_NOT_GRANTED);
    assert_eq!(x.server.core().leases.locks_on(id).len(), 1);
}

#[test]
fn lock_sequences_are_not_checked_on_an_open_that_is_not_durable_without_multichannel() {
    let mut x = X::with(NfsBreakPolicy::Wait, |c| c.smb.multichannel = false);
    let (id, _) = x.file("f", b"0123456789");
    x.hold(id, LeaseState::RWH);
    let (holder, fid) = (x.smb, x.fid.unwrap());
    assert_eq!(x.smb_call(holder, command::LOCK, &lock_body(fid, 1, 1)).hdr.status, smb_peer::SUCCESS);
    let r = x.smb_call(holder, command::LOCK, &lock_body(fid, 1, 1));
    assert_eq!(r.hdr.status, crate::smb::lease::LOCK_NOT_GRANTED);
}

/// MS-SMB2 3.3.5.14: on a 3.x connection that offered MULTI_CHANNEL every
/// open keeps a LockSequenceArray, so a LOCK replayed (as on another
/// channel) succeeds without locking twice; another sequence number locks.
#[test]
fn lock_sequences_are_checked_on_every_open_of_a_multichannel_connection() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"0123456789");
    x.hold(id, LeaseState::RWH);
    let (holder, fid) = (x.smb, x.fid.unwrap());
    assert_eq!(x.smb_call(holder, command::LOCK, &lock_body(fid, 1, 1)).hdr.status, smb_peer::SUCCESS);
    assert_eq!(x.smb_call(holder, command::LOCK, &lock_body(fid, 1, 1)).hdr.status, smb_peer::SUCCESS);
    assert_eq!(x.server.core().leases.locks_on(id).len(), 1, "locked once");
    let r = x.smb_call(holder, command::LOCK, &lock_body(fid, 1, 2));
    assert_eq!(r.hdr.status, crate::smb::lease::LOCK_NOT_GRANTED);
}

#[test]
fn logoff_keeps_a_durable_open_and_tree_disconnect_closes_it() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"old");
    let fid = hold_durable(&mut x, id);
    // MS-SMB2 3.3.5.6: LOGOFF preserves durable opens like a lost connection.
    let holder = x.smb;
    assert_eq!(x.smb_call(holder, command::LOGOFF, &[4, 0, 0, 0]).hdr.status, smb_peer::SUCCESS);
    assert_eq!(x.server.smb_shared().durable.preserved(), 1);
    let conn = x.smb_peer(GUID);
    let back = reconnect(&mut x, conn, "f", fid, CREATE_GUID, KEY);
    assert_eq!(back.hdr.status, smb_peer::SUCCESS);
    // TREE_DISCONNECT closes it like CLOSE: nothing is left to reconnect.
    assert_eq!(x.smb_call(conn, command::TREE_DISCONNECT, &[4, 0, 0, 0]).hdr.status, smb_peer::SUCCESS);
    assert!(x.lease_gone());
    let other = x.smb_peer(GUID);
    let r = reconnect(&mut x, other, "f", back.file_id(), CREATE_GUID, KEY);
    assert_eq!(r.hdr.status, status::OBJECT_NAME_NOT_FOUND);
}

#[test]
fn an_allocation_size_asked_at_create_is_reported_and_survives_a_reconnect() {
    let mut x = X::new();
    // 5000 bytes reserve two 4096-byte clusters (MS-FSA 2.1.4.5 BlockAlign).
    let ctxs = [
        CreateContext::Lease(smb_peer::lease_v2(KEY, RWH)),
        durable_v2(CREATE_GUID),
        CreateContext::AllocationSize(5000),
    ];
    let body = smb_peer::create_with_contexts("new", smb_peer::OPLOCK_LEVEL_LEASE, &ctxs, 7, disposition::CREATE);
    let r = x.smb_call(x.smb, command::CREATE, &body);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    // CREATE response: AllocationSize at 40, EndOfFile at 48 (MS-SMB2 2.2.14).
    let sizes = |m: &Msg| {
        (u64::from_le_bytes(m.body[40..48].try_into().unwrap()), u64::from_le_bytes(m.body[48..56].try_into().unwrap()))
    };
    assert_eq!(sizes(&r), (8192, 0));
    let fid = r.file_id();
    x.fid = Some(fid);
    x.holder_writes(&[7; 9000]);
    x.holder_disconnects();
    let conn = x.smb_peer(GUID);
    let r = reconnect(&mut x, conn, "new", fid, CREATE_GUID, KEY);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    assert_eq!(sizes(&r), (12288, 9000), "the data outgrew the reservation");
    // An existing file opened with the context keeps its own allocation.
    x.file("old", b"abc");
    let body =
        smb_peer::create_with_contexts("old", 0, &[CreateContext::AllocationSize(1 << 20)], 7, disposition::OPEN);
    let r = x.smb_call(conn, command::CREATE, &body);
    assert_eq!(sizes(&r), (4096, 3));
    // More than the store has free is STATUS_DISK_FULL, and nothing is made.
    let body = smb_peer::create_with_contexts(
        "huge",
        0,
        &[CreateContext::AllocationSize(u64::MAX / 2)],
        7,
        disposition::CREATE,
    );
    assert_eq!(x.smb_call(conn, command::CREATE, &body).hdr.status, status::DISK_FULL);
    let body = smb_peer::create_with_contexts("huge", 0, &[], 7, disposition::OPEN);
    assert_eq!(x.smb_call(conn, command::CREATE, &body).hdr.status, status::OBJECT_NAME_NOT_FOUND);
}

/// The holder's durable open of `name` with RWH, DELETE access and
/// delete-on-close (CREATE: DesiredAccess at 24, CreateOptions at 40).
fn hold_delete_on_close(x: &mut X, name: &str) -> FileId {
    let ctxs = [CreateContext::Lease(smb_peer::lease_v2(KEY, RWH)), durable_v2(CREATE_GUID)];
    let mut body = smb_peer::create_with_contexts(name, smb_peer::OPLOCK_LEVEL_LEASE, &ctxs, 7, disposition::OPEN_IF);
    body[24..28].copy_from_slice(&(smb_peer::RW | 0x0001_0000).to_le_bytes());
    body[41] |= 0x10; // CreateOptions FILE_DELETE_ON_CLOSE (0x00001000)
    let r = x.smb_call(x.smb, command::CREATE, &body);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    assert!(r.create_contexts().iter().any(|c| matches!(c, ResponseContext::DurableV2 { .. })));
    r.file_id()
}

fn exists(x: &X, name: &str) -> bool {
    let vfs = x.server.vfs();
    vfs.lookup(vfs.root(), name).is_ok()
}

#[test]
fn a_durable_delete_on_close_open_waits_and_deletes_when_its_reconnected_handle_closes() {
    let mut x = X::new();
    x.file("f", b"old");
    let fid = hold_delete_on_close(&mut x, "f");
    x.holder_disconnects();
    assert_eq!(x.server.smb_shared().durable.preserved(), 1, "kept, delete-on-close or not");
    assert!(exists(&x, "f"));
    let conn = x.smb_peer(GUID);
    let back = reconnect(&mut x, conn, "f", fid, CREATE_GUID, KEY);
    assert_eq!(back.hdr.status, smb_peer::SUCCESS);
    assert_eq!(x.smb_call(conn, command::CLOSE, &smb_peer::close_body(back.file_id())).hdr.status, smb_peer::SUCCESS);
    assert!(!exists(&x, "f"), "deleted by the close of the reconnected handle");
}

#[test]
fn an_open_that_closes_a_preserved_delete_on_close_open_finds_the_name_free() {
    let mut x = X::new();
    x.file("f", b"old");
    hold_delete_on_close(&mut x, "f");
    x.holder_disconnects();
    // Share none conflicts with the preserved open: it is closed (its
    // client cannot hear a break), the file deleted, and the open creates
    // the name anew.
    let other = x.smb_peer([0xEE; 16]);
    let r = x.smb_call(other, command::CREATE, &smb_peer::create_with("f", 9, None, 0, disposition::OPEN_IF));
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    assert_eq!(u32::from_le_bytes(r.body[4..8].try_into().unwrap()), 2, "FILE_CREATED");
    assert_eq!(u64::from_le_bytes(r.body[48..56].try_into().unwrap()), 0, "empty");
    assert_eq!(x.server.smb_shared().durable.preserved(), 0);
}
