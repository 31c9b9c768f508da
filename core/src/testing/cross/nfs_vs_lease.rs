//! NFS operations against an SMB lease: breaks, parking, release by ack,
//! timeout and disconnect, the jukebox policy and the parked-call limits.

use super::*;
use crate::nfs::nfs3::attrs::Sattr3;

const NONE: LeaseState = LeaseState::NONE;

#[test]
fn write_under_rwh_waits_for_the_ack() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.breaks(), vec![(LeaseState::RWH, NONE, true)]);
    assert!(x.no_replies(), "the WRITE is parked");
    assert_eq!(x.content(id), b"old");
    assert_eq!(x.server.core().leases.parked(), 1);
    x.at(secs(1));
    assert_eq!(x.ack(NONE), 0);
    assert_eq!(x.status(xid), Some(OK), "answered from the ack's handle_input");
    assert_eq!(x.content(id), b"nfs");
    let s = x.server.stats();
    assert_eq!((s.ops_parked, s.breaks_sent, s.breaks_acked, s.nfs_jukebox), (1, 1, 1, 0));
    assert_eq!(s.time_parked, secs(1));
    // One wait of 1 s: in the bucket up to 1 s, none below it.
    let one = crate::stats::WAIT_BUCKETS.iter().position(|b| *b == 1.0).unwrap();
    assert_eq!((s.break_wait.count(), s.break_wait.counts[one], s.break_wait.sum), (1, 1, secs(1)));
    // The WRITE's latency, timed once from its arrival to its reply.
    let write = s.nfs_latency[7];
    assert_eq!((write.count(), write.counts[one], write.sum), (1, 1, secs(1)));
    assert_eq!(x.server.nfs_shared().parked, 0);
}

#[test]
fn unacknowledged_break_releases_at_exactly_the_timeout() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.server.poll_timeout(), Some(x.base + TIMEOUT));
    x.now = x.base + TIMEOUT - Duration::from_micros(1);
    x.tick();
    assert!(x.no_replies(), "1 µs before the deadline");
    x.at(TIMEOUT);
    x.tick();
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.lease().state, NONE, "NONE, not the break-to state");
    assert!(!x.lease().breaking);
    assert_eq!(x.server.stats().breaks_timed_out, 1);
    assert_eq!(x.server.stats().time_parked, TIMEOUT);
    assert_eq!(x.content(id), b"nfs");
}

#[test]
fn an_exports_break_timeout_bounds_its_parked_call() {
    let short = secs(2);
    let mut x = X::with(NfsBreakPolicy::Wait, |c| c.nfs.exports[0].break_timeout = Some(short));
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let xid = x.send(&write(&fh, b"nfs"));
    assert!(x.no_replies(), "the WRITE is parked");
    assert!(short < TIMEOUT);
    assert_eq!(x.server.poll_timeout(), Some(x.base + short), "the export's timeout, not the server's");
    x.now = x.base + short - Duration::from_micros(1);
    x.tick();
    assert!(x.no_replies(), "1 µs before the export's deadline");
    x.at(short);
    x.tick();
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.lease().state, NONE);
    assert_eq!(x.server.stats().breaks_timed_out, 1);
    assert_eq!(x.server.stats().time_parked, short);
    assert_eq!(x.content(id), b"nfs");
}

#[test]
fn an_exports_longer_break_timeout_leaves_the_servers() {
    let mut x = X::with(NfsBreakPolicy::Wait, |c| c.nfs.exports[0].break_timeout = Some(TIMEOUT * 2));
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.server.poll_timeout(), Some(x.base + TIMEOUT), "a break keeps its earliest deadline");
    x.at(TIMEOUT);
    x.tick();
    assert_eq!(x.status(xid), Some(OK));
}

#[test]
fn holder_disconnect_releases_the_parked_call() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let xid = x.send(&write(&fh, b"nfs"));
    x.at(secs(2));
    x.holder_disconnects();
    assert_eq!(x.status(xid), Some(OK));
    assert!(x.lease_gone());
    assert_eq!(x.server.stats().time_parked, secs(2));
    assert_eq!(x.server.core().leases.poll_timeout(), None, "the break timer is gone");
}

#[test]
fn read_under_rh_breaks_nothing() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"abc");
    x.hold(id, LeaseState::RH);
    let xid = x.send(&read(&fh));
    assert_eq!(read_data(&x.reply(xid).unwrap()), b"abc");
    assert_eq!(x.breaks(), vec![]);
    assert_eq!(x.lease().state, LeaseState::RH);
}

#[test]
fn read_under_rw_breaks_to_r_and_waits() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"abc");
    x.hold(id, LeaseState::RW);
    let xid = x.send(&read(&fh));
    assert_eq!(x.breaks(), vec![(LeaseState::RW, LeaseState::R, true)]);
    assert!(x.no_replies());
    x.at(secs(1));
    assert_eq!(x.ack(LeaseState::R), 0);
    assert_eq!(read_data(&x.reply(xid).unwrap()), b"abc");
    assert_eq!(x.lease().state, LeaseState::R);
}

#[test]
fn data_written_before_the_ack_is_what_the_read_returns() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"");
    x.hold(id, LeaseState::RW);
    let xid = x.send(&read(&fh));
    assert!(x.no_replies());
    // The holder flushes its cached write, then acknowledges.
    x.holder_writes(b"abc");
    assert_eq!(x.ack(LeaseState::R), 0);
    assert_eq!(read_data(&x.reply(xid).unwrap()), b"abc");
}

#[test]
fn breaks_that_need_no_wait_do_not_delay_the_reply() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::R);
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.breaks(), vec![(LeaseState::R, NONE, false)]);
    assert_eq!(x.lease().state, NONE);
    // RH under a write: the break goes out, the write does not wait for H.
    let mut y = X::new();
    let (id, fh) = y.file("f", b"old");
    y.hold(id, LeaseState::RH);
    let xid = y.send(&write(&fh, b"nfs"));
    assert_eq!(y.status(xid), Some(OK));
    assert_eq!(y.breaks(), vec![(LeaseState::RH, NONE, true)]);
    assert_eq!(y.server.stats().ops_parked, 0);
}

#[test]
fn jukebox_policy_answers_at_once_and_sends_the_break() {
    let mut x = X::with(NfsBreakPolicy::Jukebox, |_| {});
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let xid = x.send(&write(&fh, b"nfs"));
    // NFS3ERR_JUKEBOX with empty wcc_data.
    assert_eq!(x.reply(xid).unwrap(), [0, 0, 0x27, 0x18, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(x.breaks(), vec![(LeaseState::RWH, NONE, true)]);
    assert_eq!(x.content(id), b"old");
    assert_eq!(x.server.core().leases.parked(), 0);
    let s = x.server.stats();
    assert_eq!((s.nfs_jukebox, s.ops_parked), (1, 0));
    // The retry after the ack goes through.
    assert_eq!(x.ack(NONE), 0);
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.content(id), b"nfs");
}

#[test]
fn rename_under_rh_breaks_to_r_and_waits() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"abc");
    x.hold(id, LeaseState::RH);
    let xid = x.send(&Nfs3Args::Rename { from: x.dirop("f"), to: x.dirop("g") });
    assert_eq!(x.breaks(), vec![(LeaseState::RH, LeaseState::R, true)]);
    assert!(x.no_replies());
    assert_eq!(x.ack(LeaseState::R), 0);
    assert_eq!(x.status(xid), Some(OK));
    let root = x.server.vfs().root();
    assert_eq!(x.server.vfs().lookup(root, "g").unwrap().id, id);
}

#[test]
fn rename_onto_a_leased_target_waits_for_it() {
    let mut x = X::new();
    x.file("src", b"new");
    let (target, _) = x.file("dst", b"old");
    x.hold(target, LeaseState::RH);
    let xid = x.send(&Nfs3Args::Rename { from: x.dirop("src"), to: x.dirop("dst") });
    assert_eq!(x.breaks(), vec![(LeaseState::RH, LeaseState::R, true)]);
    assert!(x.no_replies());
    assert_eq!(x.ack(LeaseState::R), 0);
    assert_eq!(x.status(xid), Some(OK));
}

#[test]
fn setattr_size_and_mode_waits_once() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"abcdef");
    x.hold(id, LeaseState::RWH);
    let attr = Sattr3 { size: Some(2), mode: Some(0o600), ..Sattr3::default() };
    let xid = x.send(&Nfs3Args::Setattr { fh, attr, guard: None });
    assert_eq!(x.breaks(), vec![(LeaseState::RWH, NONE, true)]);
    assert!(x.no_replies());
    assert_eq!(x.ack(NONE), 0);
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.content(id), b"ab");
    assert_eq!(x.server.stats().ops_parked, 1);
}

#[test]
fn nfs_client_disconnecting_while_parked_gets_no_reply() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let xid = x.send(&write(&fh, b"nfs"));
    x.breaks();
    x.at(secs(1));
    x.server.handle_closed(x.nfs, x.now);
    x.collect();
    assert_eq!(x.server.core().leases.parked(), 0);
    assert_eq!(x.server.nfs_shared().parked, 0);
    // The lease is unaffected: still breaking, and the ack is accepted.
    assert!(x.lease().breaking);
    assert_eq!(x.lease().state, LeaseState::RWH);
    assert_eq!(x.ack(NONE), 0);
    assert_eq!(x.reply(xid), None);
    assert!(x.no_replies());
    assert_eq!(x.content(id), b"old", "the call never ran");
}

#[test]
fn parked_limits_answer_jukebox() {
    let mut x = X::with(NfsBreakPolicy::Wait, |c| c.limits.max_parked = 1);
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let first = x.send(&write(&fh, b"one"));
    let other = x.nfs_conn("127.0.0.2:801");
    let second = x.send_on(other, &write(&fh, b"two"));
    assert_eq!(x.status(second), Some(JUKEBOX));
    assert_eq!(x.server.stats().nfs_jukebox, 1);
    assert_eq!(x.server.stats().ops_parked, 1);
    assert_eq!(x.ack(NONE), 0);
    assert_eq!(x.status(first), Some(OK));
    assert_eq!(x.content(id), b"one");

    // Per connection.
    let mut y = X::with(NfsBreakPolicy::Wait, |c| c.limits.max_outstanding_per_conn = 1);
    let (id, fh) = y.file("f", b"old");
    y.hold(id, LeaseState::RWH);
    y.send(&write(&fh, b"one"));
    let second = y.send(&write(&fh, b"two"));
    assert_eq!(y.status(second), Some(JUKEBOX));
    let other = y.nfs_conn("127.0.0.2:801");
    let third = y.send_on(other, &read(&fh));
    assert_eq!(y.status(third), None, "another connection may still park");
}

#[test]
fn several_calls_parked_on_one_break_all_resume_in_order() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let a = x.send(&write(&fh, b"aaa"));
    let b = x.send(&read(&fh));
    assert_eq!(x.breaks(), vec![(LeaseState::RWH, NONE, true)], "one break");
    assert_eq!(x.ack(NONE), 0);
    assert_eq!(x.status(a), Some(OK));
    assert_eq!(read_data(&x.reply(b).unwrap()), b"aaa");
    assert_eq!(x.server.stats().ops_parked, 2);
}

#[test]
fn smb_create_and_nfs_read_waiting_on_one_break_are_both_released_by_one_ack() {
    use crate::smb::wire::header::command;
    let mut x = X::new();
    let (id, fh) = x.file("f", b"abc");
    x.hold(id, LeaseState::RWH);
    // Another SMB client opens the file: RWH -> RH, its CREATE pends.
    let other = x.smb_peer([0xD2; 16]);
    let mid = x.smb_send(other, command::CREATE, &crate::testing::smb_client::create_body("f", None));
    let interim = x.smb_responses(other, mid);
    assert_eq!(interim.len(), 1);
    assert_eq!(interim[0].hdr.status, crate::smb::status::PENDING);
    assert_eq!(x.breaks(), vec![(LeaseState::RWH, LeaseState::RH, true)]);
    // The NFS READ needs the same thing (W gone): it waits on the same
    // break, and no second notification goes out.
    let xid = x.send(&read(&fh));
    assert!(x.no_replies());
    assert_eq!(x.breaks(), vec![]);
    assert_eq!(x.server.core().leases.parked(), 2);
    x.at(secs(1));
    // One ack releases both, inside the same handle_input call.
    assert_eq!(x.ack(LeaseState::RH), 0);
    let done = x.smb_responses(other, mid);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].hdr.status, 0, "the CREATE completes");
    assert_eq!(read_data(&x.reply(xid).unwrap()), b"abc", "the NFS READ completes");
    assert_eq!(x.breaks(), vec![]);
    assert_eq!(x.lease().state, LeaseState::RH);
    assert_eq!(x.server.core().leases.parked(), 0);
}

#[test]
fn nfs_write_joining_an_open_break_narrows_it_and_is_released_by_the_ack() {
    use crate::smb::wire::header::command;
    let mut x = X::new();
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let other = x.smb_peer([0xD2; 16]);
    let mid = x.smb_send(other, command::CREATE, &crate::testing::smb_client::create_body("f", None));
    assert_eq!(x.breaks(), vec![(LeaseState::RWH, LeaseState::RH, true)]);
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.breaks(), vec![], "the break in progress narrows, no new notification");
    // The holder acks RH; the write (waiting only for W) runs, and the
    // chained break RH -> NONE goes out at once.
    assert_eq!(x.ack(LeaseState::RH), 0);
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.content(id), b"nfs");
    assert_eq!(x.breaks(), vec![(LeaseState::RH, NONE, true)]);
    // The SMB CREATE re-runs into that break and waits for all of it
    // (smbtorture smb2.lease.breaking3); the second ack releases it.
    assert!(x.smb_responses(other, mid).iter().all(|m| m.hdr.status == crate::smb::status::PENDING));
    assert_eq!(x.ack(NONE), 0);
    let done = x.smb_responses(other, mid);
    assert_eq!(done.last().map(|m| m.hdr.status), Some(0), "the CREATE completes");
}

#[test]
fn a_connection_with_a_parked_call_is_not_idle() {
    let idle = secs(10);
    let mut x = X::with(NfsBreakPolicy::Wait, |c| c.limits.nfs_idle_timeout = Some(idle));
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let xid = x.send(&write(&fh, b"nfs"));
    assert!(x.no_replies(), "parked behind the break");
    // Idle deadlines pass while the call waits: the connection stays.
    for s in [10, 20, 30] {
        x.at(secs(s));
        x.tick();
        assert!(x.server.protocol_of(x.nfs).is_some(), "open at {s} s with a parked call");
    }
    // The break times out at 35 s and the WRITE is answered: idle from then.
    x.at(TIMEOUT);
    x.tick();
    assert_eq!(x.status(xid), Some(OK));
    x.now = x.base + TIMEOUT + idle - Duration::from_micros(1);
    x.tick();
    assert!(x.server.protocol_of(x.nfs).is_some(), "1 µs before the idle time after the reply");
    x.at(TIMEOUT + idle);
    x.tick();
    assert!(x.server.protocol_of(x.nfs).is_none(), "closed once idle");
    assert_eq!(x.server.stats().nfs_idle_closed, 1);
}

#[test]
fn a_handle_outside_its_export_breaks_nothing() {
    const STALE: u32 = 70;
    let mut x = X::with(NfsBreakPolicy::Wait, |c| c.nfs.exports[0].path = "/a".into());
    let root = x.server.vfs().root();
    x.server.vfs().mkdir(root, "a", CreateAttr { mode: 0o777, uid: 1000, gid: 1000 }, Timespec::new(1, 0)).unwrap();
    // "f" lies in the Vfs root, outside the export's "/a", yet its handle
    // names export 0.
    let (id, fh) = x.file("f", b"old");
    x.hold(id, LeaseState::RWH);
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.status(xid), Some(STALE), "answered at once, not parked");
    assert_eq!(x.breaks(), vec![], "the SMB holder is not disturbed");
    assert_eq!(x.lease().state, LeaseState::RWH);
    assert_eq!(x.content(id), b"old");
}
