//! Preserved (durable) opens in the table: they outlive their connection,
//! keep their caching, share mode and locks, and are closed by their
//! deadline or by the first break that would have had to reach them.

use super::*;

const KEEP: Duration = Duration::from_secs(60);

#[test]
fn a_preserved_open_outlives_its_connection_with_its_caching_share_and_locks() {
    let mut f = Fx::new();
    let (a, _) = f.lease_open_share(G1, K1, LeaseState::RWH, C1, share::READ);
    f.t.lock(F, a, 0, 10, true).unwrap();
    assert!(f.t.preserve(a, f.at(KEEP)));
    assert_eq!(f.t.close_conn(C1, f.base), vec![], "close_conn leaves it");
    assert!(f.t.is_preserved(a));
    assert_eq!(f.state(G1, K1), LeaseState::RWH);
    assert_eq!(f.t.check_share(F, access::FILE_WRITE_DATA, ALL), Err(SharingViolation));
    assert_eq!(f.t.locks_on(F).len(), 1);
    assert_eq!(f.t.poll_timeout(), Some(f.at(KEEP)));
}

#[test]
fn the_deadline_closes_it_to_the_microsecond() {
    let mut f = Fx::new();
    let (a, _) = f.lease_open(G1, K1, LeaseState::RWH, C1);
    f.t.preserve(a, f.at(KEEP));
    f.t.close_conn(C1, f.base);
    f.t.handle_timeout(f.at(KEEP - Duration::from_micros(1)));
    assert!(f.t.is_preserved(a), "1 µs early");
    assert_eq!(f.t.take_purged(), vec![]);
    f.t.handle_timeout(f.at(KEEP));
    assert!(f.t.open(a).is_none());
    assert!(f.t.lease_info(G1, K1).is_none(), "the lease went with its last open");
    assert_eq!(f.t.take_purged(), vec![a]);
    assert_eq!(f.t.take_purged(), vec![], "reported once");
    assert_eq!(f.t.poll_timeout(), None);
}

#[test]
fn a_break_that_cannot_be_heard_closes_it_and_the_caller_proceeds() {
    let mut f = Fx::new();
    let (a, _) = f.lease_open(G1, K1, LeaseState::RWH, C1);
    f.t.lock(F, a, 0, 10, true).unwrap();
    f.t.preserve(a, f.at(KEEP));
    f.t.close_conn(C1, f.base);
    // An NFS WRITE: RWH -> NONE, which would have had to wait for W.
    assert_eq!(f.begin(Operation::Write, Caller::Nobody, 1), Decision::Proceed);
    assert_eq!(f.notes(), vec![], "no notification for nobody");
    assert_eq!(f.t.take_purged(), vec![a]);
    assert!(f.t.lease_info(G1, K1).is_none());
    assert_eq!(f.t.locks_on(F).len(), 0, "its locks went with it");
    assert_eq!(f.t.poll_timeout(), None, "no break deadline, no durable deadline");
}

#[test]
fn a_preserved_batch_oplock_gives_way_to_a_sharing_conflict() {
    let mut f = Fx::new();
    let a = f.t.add_open(F, DATA, 0, C1);
    f.t.grant(F, a, GrantRequest::Oplock(OplockLevel::Batch), f.base).unwrap();
    f.t.preserve(a, f.at(KEEP));
    f.t.close_conn(C1, f.base);
    let op = Operation::Open { access: DATA, share: ALL, truncate: false };
    assert_eq!(f.begin(op, Caller::Nobody, 1), Decision::Proceed);
    assert_eq!(f.t.take_purged(), vec![a]);
    assert_eq!(f.t.check_share(F, DATA, ALL), Ok(()));
}

#[test]
fn a_lease_with_a_live_open_is_broken_as_usual() {
    let mut f = Fx::new();
    let (a, _) = f.lease_open(G1, K1, LeaseState::RWH, C1);
    f.lease_open(G1, K1, LeaseState::RWH, C2);
    f.t.preserve(a, f.at(KEEP));
    f.t.close_conn(C1, f.base);
    assert_eq!(f.begin(Operation::Write, Caller::Nobody, 1), Decision::Wait);
    assert_eq!(f.notes().len(), 1, "the live open hears it");
    assert_eq!(f.t.take_purged(), vec![]);
    assert!(f.t.is_preserved(a));
}

#[test]
fn restore_makes_it_an_ordinary_open_of_the_new_connection() {
    let mut f = Fx::new();
    let (a, _) = f.lease_open(G1, K1, LeaseState::RWH, C1);
    f.t.preserve(a, f.at(KEEP));
    f.t.close_conn(C1, f.base);
    assert!(f.t.restore(a, C2));
    assert!(!f.t.restore(a, C2), "only once");
    assert_eq!(f.t.open(a).map(|e| e.conn), Some(C2));
    assert_eq!(f.t.poll_timeout(), None, "no deadline any more");
    f.t.handle_timeout(f.at(KEEP));
    assert!(f.t.open(a).is_some());
    // A break now reaches C2 and waits, as for any open.
    assert_eq!(f.begin(Operation::Write, Caller::Nobody, 1), Decision::Wait);
    assert_eq!(f.t.close_conn(C2, f.base), vec![a]);
}
