//! Directory leases: RH at most, broken to NONE by a change among the
//! directory's children (MS-FSA 2.1.4.12 with PARENT_OBJECT) unless the
//! change comes from the holder's own ParentLeaseKey (MS-FSA 2.1.4.12.2).

use super::*;

const DIR: FileKey = 70;
const CHILD: FileKey = 71;

fn table() -> LeaseTable {
    LeaseTable::new(TIMEOUT).with_directory_leasing(true)
}

/// A v2 lease asking for `requested` on `file`, with an optional parent key.
fn lease(
    t: &mut LeaseTable,
    file: FileKey,
    key: LeaseKey,
    requested: LeaseState,
    parent_key: Option<LeaseKey>,
    is_directory: bool,
) -> (OpenId, LeaseState) {
    let id = t.add_open(file, access::FILE_READ_DATA, ALL, C1);
    let req = GrantRequest::Lease {
        client_guid: G1,
        key,
        requested,
        version: LeaseVersion::V2,
        epoch: 0,
        parent_key: parent_key.map(|k| k.0),
        is_directory,
    };
    match t.grant(file, id, req, Instant::now()).unwrap() {
        Grant::Lease { state, .. } => (id, state),
        g => panic!("not a lease: {g:?}"),
    }
}

fn notes(t: &mut LeaseTable) -> Vec<BreakNotification> {
    std::iter::from_fn(|| t.poll_notification()).collect()
}

#[test]
fn directory_gets_rh_never_w() {
    let mut t = table();
    let (_, state) = lease(&mut t, DIR, K1, LeaseState::RWH, None, true);
    assert_eq!(state, LeaseState::RH);
}

#[test]
fn child_change_by_nobody_breaks_rh_to_none_and_waits_for_the_ack() {
    let mut t = table();
    let now = Instant::now();
    lease(&mut t, DIR, K1, LeaseState::RH, None, true);
    let d = t.begin(DIR, Operation::ChildChange, Caller::Nobody, tok(1), now);
    assert_eq!(d, Decision::Wait);
    let n = notes(&mut t);
    assert_eq!(n.len(), 1);
    assert_eq!((n[0].current, n[0].new, n[0].ack_required), (LeaseState::RH, LeaseState::NONE, true));
    assert!(t.take_woken().is_empty());
    assert_eq!(t.ack_lease(G1, K1, LeaseState::NONE, now), Ok(LeaseState::NONE));
    assert_eq!(t.take_woken(), vec![tok(1)]);
    assert_eq!(t.begin(DIR, Operation::ChildChange, Caller::Nobody, tok(1), now), Decision::Proceed);
}

#[test]
fn child_change_breaks_r_to_none_without_waiting() {
    let mut t = table();
    lease(&mut t, DIR, K1, LeaseState::R, None, true);
    let d = t.begin(DIR, Operation::ChildChange, Caller::Nobody, tok(1), Instant::now());
    assert_eq!(d, Decision::Proceed);
    let n = notes(&mut t);
    assert_eq!((n[0].new, n[0].ack_required), (LeaseState::NONE, false));
    assert_eq!(t.lease_info(G1, K1).unwrap().state, LeaseState::NONE);
}

#[test]
fn matching_parent_key_breaks_nothing() {
    let mut t = table();
    lease(&mut t, DIR, K1, LeaseState::RH, None, true);
    let d = t.begin(DIR, Operation::ChildChange, Caller::Parent(G1, K1), tok(1), Instant::now());
    assert_eq!(d, Decision::Proceed);
    assert!(notes(&mut t).is_empty());
    // The same key under another ClientGuid is another lease's key.
    let d = t.begin(DIR, Operation::ChildChange, Caller::Parent(G2, K1), tok(2), Instant::now());
    assert_eq!(d, Decision::Wait);
}

#[test]
fn open_whose_lease_names_the_parent_breaks_nothing_and_others_do() {
    let mut t = table();
    lease(&mut t, DIR, K1, LeaseState::RH, None, true);
    let (with_parent, _) = lease(&mut t, CHILD, K2, LeaseState::RWH, Some(K1), false);
    let (without, _) = lease(&mut t, CHILD + 1, K3, LeaseState::RWH, None, false);
    let now = Instant::now();
    assert_eq!(t.begin(DIR, Operation::ChildChange, Caller::Open(with_parent), tok(1), now), Decision::Proceed);
    assert!(notes(&mut t).is_empty());
    // Its own key is not its parent key: the directory lease is another's.
    assert_eq!(t.begin(DIR, Operation::ChildChange, Caller::Lease(G1, K1), tok(2), now), Decision::Wait);
    t.ack_lease(G1, K1, LeaseState::NONE, now).unwrap();
    assert_eq!(t.child_caller(with_parent), Caller::Parent(G1, K1));
    assert_eq!(t.child_caller(without), Caller::Nobody);
}

#[test]
fn child_change_leaves_file_leases_alone() {
    let mut t = table();
    lease(&mut t, CHILD, K2, LeaseState::RWH, None, false);
    assert_eq!(t.begin(CHILD, Operation::ChildChange, Caller::Nobody, tok(1), Instant::now()), Decision::Proceed);
    // Only directory leases cache a listing: a file's own caching is
    // broken by what is done to its data, not by PARENT_OBJECT.
    assert!(notes(&mut t).is_empty());
    assert_eq!(t.lease_info(G1, K2).unwrap().state, LeaseState::RWH);
}

#[test]
fn leased_directories_lists_only_directories_still_caching() {
    let mut t = table();
    lease(&mut t, DIR, K1, LeaseState::R, None, true);
    lease(&mut t, CHILD, K2, LeaseState::RWH, None, false);
    assert_eq!(t.leased_directories(), vec![DIR]);
    t.begin(DIR, Operation::ChildChange, Caller::Nobody, tok(1), Instant::now());
    assert!(t.leased_directories().is_empty());
}
