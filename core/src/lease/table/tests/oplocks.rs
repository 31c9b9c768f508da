//! Classic oplocks, alone and next to leases.

use super::*;

// ---- classic oplocks ----

#[test]
fn batch_is_broken_to_ii_by_another_open() {
    let mut fx = Fx::new();
    let (a, l) = fx.oplock_open(OplockLevel::Batch, C1);
    assert_eq!(l, OplockLevel::Batch);
    assert_eq!(fx.begin(open_op(access::FILE_READ_DATA), Caller::Nobody, 1), Decision::Wait);
    let n = fx.notes();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].target, BreakTarget::Oplock { open: a, conn: C1, level: 1 });
    assert_eq!((n[0].current, n[0].new, n[0].ack_required, n[0].epoch), (LeaseState::RWH, LeaseState::R, true, 0));
    assert!(fx.t.oplock_breaking(a));
    // The holder's own operations do not break it further.
    assert_eq!(fx.begin(Operation::Write, Caller::Open(a), 2), Decision::Proceed);
    assert_eq!(fx.t.ack_oplock(a, 1, fx.base), Ok(1));
    assert_eq!(fx.t.oplock_level(a), OplockLevel::II);
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    assert!(fx.t.poll_timeout().is_none());
    // The new open asking for batch gets level II now.
    let (_, l) = fx.oplock_open(OplockLevel::Batch, C2);
    assert_eq!(l, OplockLevel::II);
}

#[test]
fn batch_is_broken_to_none_by_truncate_and_rename() {
    for op in [Operation::Open { access: DATA, share: ALL, truncate: true }, Operation::Rename, Operation::Write] {
        let mut fx = Fx::new();
        let (a, _) = fx.oplock_open(OplockLevel::Batch, C1);
        assert_eq!(fx.begin(op, Caller::Nobody, 1), Decision::Wait, "{op:?}");
        let n = fx.notes();
        assert_eq!(n[0].target, BreakTarget::Oplock { open: a, conn: C1, level: 0 }, "{op:?}");
        // An II ack of a break to none leaves none.
        assert_eq!(fx.t.ack_oplock(a, 1, fx.base), Ok(0));
        assert_eq!(fx.t.oplock_level(a), OplockLevel::None);
        assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    }
}

#[test]
fn exclusive_is_not_broken_by_rename_and_ii_drops_without_ack() {
    let mut fx = Fx::new();
    let (a, l) = fx.oplock_open(OplockLevel::Exclusive, C1);
    assert_eq!(l, OplockLevel::Exclusive);
    assert_eq!(fx.begin(Operation::Rename, Caller::Nobody, 1), Decision::Proceed);
    assert_eq!(fx.begin(Operation::SetSecurity, Caller::Nobody, 1), Decision::Proceed);
    assert!(fx.notes().is_empty());
    assert_eq!(fx.begin(Operation::Read, Caller::Nobody, 1), Decision::Wait);
    assert_eq!(fx.t.ack_oplock(a, 1, fx.base), Ok(1));
    fx.notes();
    // Level II under a write: NONE at once, no ack, no wait.
    assert_eq!(fx.begin(Operation::Write, Caller::Nobody, 2), Decision::Proceed);
    let n = fx.notes();
    assert_eq!(n[0].target, BreakTarget::Oplock { open: a, conn: C1, level: 0 });
    assert!(!n[0].ack_required);
    assert_eq!(fx.t.oplock_level(a), OplockLevel::None);
    assert!(fx.t.poll_timeout().is_none());
}

#[test]
fn oplock_ack_errors() {
    let mut fx = Fx::new();
    let (a, _) = fx.oplock_open(OplockLevel::Batch, C1);
    assert_eq!(fx.t.ack_oplock(a, 1, fx.base), Err(AckError::InvalidOplockProtocol));
    assert_eq!(fx.t.ack_oplock(OpenId(77), 0, fx.base), Err(AckError::InvalidOplockProtocol));
    fx.begin(open_op(access::FILE_READ_DATA), Caller::Nobody, 1);
    // Acking with batch is a protocol error; the oplock is gone and the
    // waiter goes on.
    assert_eq!(fx.t.ack_oplock(a, OplockLevel::WIRE_BATCH, fx.base), Err(AckError::InvalidOplockProtocol));
    assert_eq!(fx.t.oplock_level(a), OplockLevel::None);
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    assert!(fx.t.poll_timeout().is_none());
    assert_eq!(fx.t.ack_oplock(a, 0, fx.base), Err(AckError::InvalidOplockProtocol));
}

#[test]
fn oplock_break_times_out_to_none_and_chains() {
    let mut fx = Fx::new();
    let (a, _) = fx.oplock_open(OplockLevel::Batch, C1);
    fx.begin(open_op(access::FILE_READ_DATA), Caller::Nobody, 1);
    assert_eq!(fx.fire(fx.at(TIMEOUT)), 1);
    assert_eq!(fx.t.oplock_level(a), OplockLevel::None);
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);

    // Batch breaking to II, then a write: after the II ack, II -> none at once.
    let mut fx = Fx::new();
    let (a, _) = fx.oplock_open(OplockLevel::Batch, C1);
    assert_eq!(fx.begin(open_op(access::FILE_READ_DATA), Caller::Nobody, 1), Decision::Wait);
    assert_eq!(fx.begin(Operation::Write, Caller::Nobody, 2), Decision::Wait);
    assert_eq!(fx.notes().len(), 1);
    assert_eq!(fx.t.ack_oplock(a, 1, fx.base), Ok(1));
    let n = fx.notes();
    assert_eq!(n[0].target, BreakTarget::Oplock { open: a, conn: C1, level: 0 });
    assert!(!n[0].ack_required);
    assert_eq!(fx.t.oplock_level(a), OplockLevel::None);
    assert_eq!(fx.t.take_woken(), vec![tok(1), tok(2)]);
}

#[test]
fn classic_stat_open_breaks_batch_only_with_read_control() {
    let mut fx = Fx::new();
    fx.oplock_open(OplockLevel::Batch, C1);
    let attrs = access::FILE_READ_ATTRIBUTES | access::SYNCHRONIZE;
    assert_eq!(fx.begin(open_op(attrs), Caller::Nobody, 1), Decision::Proceed);
    assert_eq!(fx.begin(open_op(attrs | access::READ_CONTROL), Caller::Nobody, 2), Decision::Wait);
}

// ---- leases and oplocks together ----

#[test]
fn lease_r_lets_oplock_requester_have_ii_but_rh_gives_none() {
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, LeaseState::R, C1);
    assert_eq!(fx.oplock_open(OplockLevel::Batch, C2).1, OplockLevel::II);
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, LeaseState::RH, C1);
    assert_eq!(fx.oplock_open(OplockLevel::II, C2).1, OplockLevel::None);
    assert_eq!(fx.oplock_open(OplockLevel::Batch, C2).1, OplockLevel::None);
}

#[test]
fn oplock_holder_meeting_lease_requester_is_broken_to_ii_and_lease_gets_r() {
    let mut fx = Fx::new();
    let (a, _) = fx.oplock_open(OplockLevel::Batch, C1);
    assert_eq!(fx.begin(open_op(DATA), Caller::Lease(G1, K1), 1), Decision::Wait);
    assert_eq!(fx.notes()[0].target, BreakTarget::Oplock { open: a, conn: C1, level: 1 });
    fx.t.ack_oplock(a, 1, fx.base).unwrap();
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    assert_eq!(fx.begin(open_op(DATA), Caller::Lease(G1, K1), 1), Decision::Proceed);
    let (_, g) = fx.lease_open(G2, K2, LeaseState::RWH, C2);
    assert_eq!(granted_state(g), LeaseState::R);
    // A lease requester that skipped the break (stat open) while batch is
    // still held gets nothing.
    let mut fx = Fx::new();
    fx.oplock_open(OplockLevel::Batch, C1);
    let (_, g) = fx.lease_open(G1, K1, LeaseState::RWH, C2);
    assert_eq!(granted_state(g), LeaseState::NONE);
}

#[test]
fn exclusive_oplock_only_for_the_sole_open() {
    let mut fx = Fx::new();
    fx.t.add_open(F, access::FILE_READ_ATTRIBUTES, ALL, C2);
    assert_eq!(fx.oplock_open(OplockLevel::Exclusive, C1).1, OplockLevel::Exclusive);
    let mut fx = Fx::new();
    fx.t.add_open(F, access::FILE_READ_DATA, ALL, C2);
    assert_eq!(fx.oplock_open(OplockLevel::Exclusive, C1).1, OplockLevel::II);
    assert_eq!(fx.oplock_open(OplockLevel::None, C1).1, OplockLevel::None);
}

#[test]
fn closing_an_oplock_open_releases_its_waiters() {
    let mut fx = Fx::new();
    let (a, _) = fx.oplock_open(OplockLevel::Batch, C1);
    fx.begin(Operation::Write, Caller::Nobody, 1);
    fx.t.close_open(a, fx.base);
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    assert!(fx.t.poll_timeout().is_none());
    assert_eq!(fx.t.ack_oplock(a, 0, fx.base), Err(AckError::InvalidOplockProtocol));
}

#[test]
fn a_second_grant_on_the_same_open_replaces_the_first() {
    let mut fx = Fx::new();
    let (a, _) = fx.oplock_open(OplockLevel::Batch, C1);
    let g = fx.t.grant(F, a, Fx::lease_req(G1, K1, LeaseState::RWH, LeaseVersion::V2, 0), fx.base).unwrap();
    assert_eq!(granted_state(g), LeaseState::RWH);
    assert_eq!(fx.t.oplock_level(a), OplockLevel::None);
    assert_eq!(fx.t.lease_of(a), Some(LeaseOwner { client_guid: G1, key: K1 }));
    let g = fx.t.grant(F, a, Fx::lease_req(G1, K1, LeaseState::RWH, LeaseVersion::V2, 0), fx.base).unwrap();
    assert_eq!(granted_state(g), LeaseState::RWH);
    assert_eq!(fx.t.lease_info(G1, K1).unwrap().open_count, 1);
    fx.t.grant(F, a, GrantRequest::None, fx.base).unwrap();
    assert!(fx.t.lease_info(G1, K1).is_none());
}

#[test]
fn own_level_ii_breaks_to_none_under_its_own_write_lock_and_end_of_file() {
    for op in [Operation::Write, Operation::Lock, Operation::SetEndOfFile] {
        let mut fx = Fx::new();
        let (a, l) = fx.oplock_open(OplockLevel::II, C1);
        assert_eq!(l, OplockLevel::II);
        // Reads take no R: nothing to break, own or not.
        assert_eq!(fx.begin(Operation::Read, Caller::Open(a), 1), Decision::Proceed);
        assert!(fx.notes().is_empty());
        assert_eq!(fx.begin(op, Caller::Open(a), 2), Decision::Proceed, "{op:?}");
        let n = fx.notes();
        assert_eq!(n.len(), 1, "{op:?}");
        assert_eq!(n[0].target, BreakTarget::Oplock { open: a, conn: C1, level: 0 });
        assert!(!n[0].ack_required);
        assert_eq!(fx.t.oplock_level(a), OplockLevel::None);
    }
}

#[test]
fn own_batch_and_own_lease_r_are_not_broken_by_own_writes() {
    let mut fx = Fx::new();
    let (a, _) = fx.oplock_open(OplockLevel::Batch, C1);
    assert_eq!(fx.begin(Operation::Write, Caller::Open(a), 1), Decision::Proceed);
    assert!(fx.notes().is_empty());
    assert_eq!(fx.t.oplock_level(a), OplockLevel::Batch);
    let mut fx = Fx::new();
    let (b, _) = fx.lease_open(G1, K1, LeaseState::R, C1);
    assert_eq!(fx.begin(Operation::Write, Caller::Open(b), 1), Decision::Proceed);
    assert!(fx.notes().is_empty());
    assert_eq!(fx.state(G1, K1), LeaseState::R);
}

#[test]
fn stat_open_that_truncates_breaks_exclusive_to_none_and_waits() {
    let mut fx = Fx::new();
    let (a, _) = fx.oplock_open(OplockLevel::Exclusive, C1);
    let attrs = access::FILE_READ_ATTRIBUTES | access::FILE_WRITE_ATTRIBUTES | access::SYNCHRONIZE;
    assert_eq!(fx.begin(open_op(attrs), Caller::Nobody, 1), Decision::Proceed);
    let op = Operation::Open { access: attrs, share: ALL, truncate: true };
    assert_eq!(fx.begin(op, Caller::Nobody, 2), Decision::Wait);
    let n = fx.notes();
    assert_eq!(n[0].target, BreakTarget::Oplock { open: a, conn: C1, level: 0 });
    assert!(n[0].ack_required);
}
