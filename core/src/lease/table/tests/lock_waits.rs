//! Lock requests that wait (MS-FSA 2.1.5.8 without FailImmediately):
//! granted when the conflicting lock is unlocked or its open closes, in
//! arrival order; forgotten on cancel, on the close of their own open or of
//! their connection.

use super::*;

const EXCL: bool = true;

fn wait_lock(t: &mut LeaseTable, open: OpenId, off: u64, len: u64, excl: bool, op: u64) -> Decision {
    t.lock_or_wait(F, open, off, len, excl, tok(op), Instant::now()).unwrap()
}

fn two_opens() -> (LeaseTable, OpenId, OpenId) {
    let mut t = LeaseTable::new(TIMEOUT);
    let a = t.add_open(F, DATA, ALL, C1);
    let b = t.add_open(F, DATA, ALL, C2);
    (t, a, b)
}

#[test]
fn waiting_lock_is_granted_on_unlock() {
    let (mut t, a, b) = two_opens();
    assert_eq!(t.lock(F, a, 0, 10, EXCL), Ok(()));
    // No conflict: granted at once.
    assert_eq!(wait_lock(&mut t, b, 20, 5, EXCL, 1), Decision::Proceed);
    assert_eq!(wait_lock(&mut t, b, 5, 10, EXCL, 2), Decision::Wait);
    assert!(t.is_lock_waiting(tok(2)));
    assert_eq!(t.lock_waits(), 1);
    // Running the request again while it waits changes nothing.
    assert_eq!(wait_lock(&mut t, b, 5, 10, EXCL, 2), Decision::Wait);
    assert_eq!(t.lock_waits(), 1);
    assert!(t.take_woken().is_empty());
    assert_eq!(t.unlock(F, a, 0, 10, Instant::now()), Ok(()));
    assert_eq!(t.poll_event(), Some(LeaseEvent::Wake(tok(2))));
    assert_eq!(t.lock_waits(), 0);
    // The lock is held from the moment it is granted.
    assert!(t.locks_on(F).iter().any(|l| l.open == b && l.offset == 5 && l.length == 10));
    assert_eq!(t.check_io(F, a, 5, 1, false), Err(LockConflict));
    // The woken request takes its grant once.
    assert!(t.take_lock_grant(tok(2)));
    assert!(!t.take_lock_grant(tok(2)));
}

#[test]
fn the_re_run_request_learns_its_grant_from_lock_or_wait() {
    let (mut t, a, b) = two_opens();
    t.lock(F, a, 0, 10, EXCL).unwrap();
    assert_eq!(wait_lock(&mut t, b, 0, 10, EXCL, 1), Decision::Wait);
    t.unlock(F, a, 0, 10, Instant::now()).unwrap();
    assert_eq!(t.take_woken(), vec![tok(1)]);
    assert_eq!(wait_lock(&mut t, b, 0, 10, EXCL, 1), Decision::Proceed);
    assert_eq!(t.locks_on(F).len(), 1, "granted once, not twice");
}

#[test]
fn waiters_for_one_range_are_granted_first_come_first_served() {
    let mut t = LeaseTable::new(TIMEOUT);
    let a = t.add_open(F, DATA, ALL, C1);
    let b = t.add_open(F, DATA, ALL, C2);
    let c = t.add_open(F, DATA, ALL, C3);
    t.lock(F, a, 0, 10, EXCL).unwrap();
    assert_eq!(wait_lock(&mut t, c, 0, 10, EXCL, 1), Decision::Wait);
    assert_eq!(wait_lock(&mut t, b, 0, 10, EXCL, 2), Decision::Wait);
    t.unlock(F, a, 0, 10, Instant::now()).unwrap();
    // The first waiter has the range; the second waits on for it.
    assert_eq!(t.take_woken(), vec![tok(1)]);
    assert!(t.is_lock_waiting(tok(2)));
    t.unlock(F, c, 0, 10, Instant::now()).unwrap();
    assert_eq!(t.take_woken(), vec![tok(2)]);
    assert_eq!(t.locks_on(F), &[ByteRangeLock { open: b, offset: 0, length: 10, exclusive: EXCL }]);
}

#[test]
fn compatible_shared_waiters_are_granted_together() {
    let mut t = LeaseTable::new(TIMEOUT);
    let a = t.add_open(F, DATA, ALL, C1);
    let b = t.add_open(F, DATA, ALL, C2);
    let c = t.add_open(F, DATA, ALL, C3);
    t.lock(F, a, 0, 10, EXCL).unwrap();
    assert_eq!(wait_lock(&mut t, b, 0, 10, false, 1), Decision::Wait);
    assert_eq!(wait_lock(&mut t, c, 5, 10, false, 2), Decision::Wait);
    t.unlock(F, a, 0, 10, Instant::now()).unwrap();
    assert_eq!(t.take_woken(), vec![tok(1), tok(2)]);
}

#[test]
fn close_of_the_holder_grants_the_waiter() {
    let (mut t, a, b) = two_opens();
    t.lock(F, a, 0, 10, EXCL).unwrap();
    assert_eq!(wait_lock(&mut t, b, 0, 10, EXCL, 1), Decision::Wait);
    t.close_open(a, Instant::now());
    assert_eq!(t.take_woken(), vec![tok(1)]);
    assert!(t.take_lock_grant(tok(1)));
    assert_eq!(t.locks_on(F).len(), 1);
}

#[test]
fn close_of_the_waiting_open_forgets_its_wait() {
    let (mut t, a, b) = two_opens();
    t.lock(F, a, 0, 10, EXCL).unwrap();
    assert_eq!(wait_lock(&mut t, b, 0, 10, EXCL, 1), Decision::Wait);
    assert_eq!(t.lock_waits_of(b), vec![tok(1)]);
    assert!(t.lock_waits_of(a).is_empty());
    t.close_open(b, Instant::now());
    assert_eq!(t.lock_waits(), 0);
    t.unlock(F, a, 0, 10, Instant::now()).unwrap();
    assert!(t.take_woken().is_empty());
    assert!(t.locks_on(F).is_empty());
}

#[test]
fn cancel_forgets_a_waiting_lock() {
    let (mut t, a, b) = two_opens();
    t.lock(F, a, 0, 10, EXCL).unwrap();
    assert_eq!(wait_lock(&mut t, b, 0, 10, EXCL, 1), Decision::Wait);
    assert_eq!(wait_lock(&mut t, b, 0, 10, EXCL, 2), Decision::Wait);
    assert!(t.cancel_waiter(tok(1)));
    assert!(!t.cancel_waiter(tok(1)));
    t.unlock(F, a, 0, 10, Instant::now()).unwrap();
    // The next in line is granted instead.
    assert_eq!(t.take_woken(), vec![tok(2)]);
}

#[test]
fn cancel_of_a_granted_untaken_lock_undoes_it_for_the_next_waiter() {
    let mut t = LeaseTable::new(TIMEOUT);
    let a = t.add_open(F, DATA, ALL, C1);
    let b = t.add_open(F, DATA, ALL, C2);
    let c = t.add_open(F, DATA, ALL, C3);
    t.lock(F, a, 0, 10, EXCL).unwrap();
    assert_eq!(wait_lock(&mut t, b, 0, 10, EXCL, 1), Decision::Wait);
    assert_eq!(wait_lock(&mut t, c, 0, 10, EXCL, 2), Decision::Wait);
    t.unlock(F, a, 0, 10, Instant::now()).unwrap();
    assert_eq!(t.poll_event(), Some(LeaseEvent::Wake(tok(1))));
    assert!(t.cancel_waiter(tok(1)));
    assert_eq!(t.take_woken(), vec![tok(2)]);
    assert_eq!(t.locks_on(F), &[ByteRangeLock { open: c, offset: 0, length: 10, exclusive: EXCL }]);
}

#[test]
fn close_conn_forgets_its_waiting_locks() {
    let (mut t, a, b) = two_opens();
    t.lock(F, a, 0, 10, EXCL).unwrap();
    let other = WaitToken { conn: C2, op: 7 };
    assert_eq!(t.lock_or_wait(F, b, 0, 10, EXCL, other, Instant::now()), Ok(Decision::Wait));
    t.close_conn(C2, Instant::now());
    assert_eq!(t.lock_waits(), 0);
    t.unlock(F, a, 0, 10, Instant::now()).unwrap();
    assert!(t.take_woken().is_empty());
}

#[test]
fn waiting_lock_errors_come_at_once() {
    let (mut t, a, _) = two_opens();
    assert_eq!(t.lock_or_wait(F, a, u64::MAX, 2, EXCL, tok(1), Instant::now()), Err(LockError::InvalidRange));
    assert_eq!(t.lock_waits(), 0);
}
