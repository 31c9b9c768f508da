use super::*;
use crate::lease::*;

#[test]
fn share_modes_conflict_both_ways() {
    let mut t = LeaseTable::new(Duration::from_secs(35));
    let c = ConnId(1);
    let a = t.add_open(7, access::FILE_READ_DATA, share::READ, c);
    assert_eq!(t.check_share(7, access::FILE_READ_DATA, share::READ | share::WRITE), Ok(()));
    assert_eq!(t.check_share(7, access::FILE_WRITE_DATA, share::READ | share::WRITE), Err(SharingViolation));
    // The new open refuses to share reading with an existing reader.
    assert_eq!(t.check_share(7, access::FILE_READ_DATA, share::WRITE), Err(SharingViolation));
    // A stat open sharing everything never conflicts.
    assert_eq!(t.check_share(7, access::FILE_READ_ATTRIBUTES, 7), Ok(()));
    assert_eq!(t.check_share(8, access::FILE_WRITE_DATA, 0), Ok(()));
    t.close_open(a, Instant::now());
    assert_eq!(t.check_share(7, access::FILE_WRITE_DATA, 0), Ok(()));
    assert_eq!(t.opens_on(7).count(), 0);
}

/// MS-FSA 2.1.5.1.2.2: sharing is checked only between opens that both
/// access the data; a stat open neither conflicts nor is conflicted with.
#[test]
fn opens_without_data_access_take_no_part_in_sharing() {
    let mut t = LeaseTable::new(Duration::from_secs(35));
    let stat = access::FILE_READ_ATTRIBUTES | access::FILE_WRITE_ATTRIBUTES | access::SYNCHRONIZE;
    t.add_open(7, access::FILE_READ_DATA | access::FILE_WRITE_DATA, 0, ConnId(1));
    assert_eq!(t.check_share(7, stat, 0), Ok(()));
    assert_eq!(t.check_share(7, stat | access::READ_CONTROL, 0), Ok(()));
    assert_eq!(t.check_share(7, access::DELETE, share::READ | share::WRITE | share::DELETE), Err(SharingViolation));
    t.add_open(8, stat, 0, ConnId(1));
    assert_eq!(t.check_share(8, access::FILE_READ_DATA | access::DELETE, 0), Ok(()));
}

// ---- fixtures ----

pub(super) const TIMEOUT: Duration = Duration::from_secs(35);
pub(super) const G1: ClientGuid = ClientGuid([1; 16]);
pub(super) const G2: ClientGuid = ClientGuid([2; 16]);
pub(super) const K1: LeaseKey = LeaseKey([0x11; 16]);
pub(super) const K2: LeaseKey = LeaseKey([0x22; 16]);
pub(super) const K3: LeaseKey = LeaseKey([0x33; 16]);
pub(super) const F: FileKey = 7;
pub(super) const DATA: u32 = access::FILE_READ_DATA | access::FILE_WRITE_DATA;
pub(super) const ALL: u32 = share::READ | share::WRITE | share::DELETE;
pub(super) const C1: ConnId = ConnId(1);
pub(super) const C2: ConnId = ConnId(2);
pub(super) const C3: ConnId = ConnId(3);

pub(super) struct Fx {
    t: LeaseTable,
    base: Instant,
}

pub(super) fn tok(op: u64) -> WaitToken {
    WaitToken { conn: ConnId(99), op }
}

pub(super) fn open_op(access: u32) -> Operation {
    Operation::Open { access, share: ALL, truncate: false }
}

impl Fx {
    fn new() -> Self {
        Self { t: LeaseTable::new(TIMEOUT), base: Instant::now() }
    }

    fn at(&self, d: Duration) -> Instant {
        self.base + d
    }

    fn lease_req(
        guid: ClientGuid,
        key: LeaseKey,
        requested: LeaseState,
        version: LeaseVersion,
        epoch: u16,
    ) -> GrantRequest {
        GrantRequest::Lease { client_guid: guid, key, requested, version, epoch, parent_key: None, is_directory: false }
    }

    /// An open with `share` under a v2 lease asking for `state`.
    fn lease_open_share(
        &mut self,
        guid: ClientGuid,
        key: LeaseKey,
        state: LeaseState,
        conn: ConnId,
        share: u32,
    ) -> (OpenId, Grant) {
        let id = self.t.add_open(F, DATA, share, conn);
        let g = self.t.grant(F, id, Self::lease_req(guid, key, state, LeaseVersion::V2, 0), self.base).unwrap();
        (id, g)
    }

    fn lease_open(&mut self, guid: ClientGuid, key: LeaseKey, state: LeaseState, conn: ConnId) -> (OpenId, Grant) {
        self.lease_open_share(guid, key, state, conn, ALL)
    }

    fn oplock_open(&mut self, level: OplockLevel, conn: ConnId) -> (OpenId, OplockLevel) {
        let id = self.t.add_open(F, DATA, ALL, conn);
        match self.t.grant(F, id, GrantRequest::Oplock(level), self.base).unwrap() {
            Grant::Oplock(l) => (id, l),
            g => panic!("unexpected {g:?}"),
        }
    }

    fn begin_at(&mut self, op: Operation, caller: Caller, token: u64, now: Instant) -> Decision {
        self.t.begin(F, op, caller, tok(token), now)
    }

    fn begin(&mut self, op: Operation, caller: Caller, token: u64) -> Decision {
        self.begin_at(op, caller, token, self.base)
    }

    fn notes(&mut self) -> Vec<BreakNotification> {
        std::iter::from_fn(|| self.t.poll_notification()).collect()
    }

    fn state(&self, guid: ClientGuid, key: LeaseKey) -> LeaseState {
        self.t.lease_info(guid, key).map(|i| i.state).unwrap_or_default()
    }

    fn ack(&mut self, guid: ClientGuid, key: LeaseKey, s: LeaseState) -> Result<LeaseState, AckError> {
        self.t.ack_lease(guid, key, s, self.base)
    }

    /// Fires every timer due at `now` as the server would.
    fn fire(&mut self, now: Instant) -> usize {
        let n = self.t.deadlines.iter().take_while(|(at, _)| *at <= now).count();
        self.t.handle_timeout(now);
        n
    }
}

pub(super) fn granted_state(g: Grant) -> LeaseState {
    match g {
        Grant::Lease { state, .. } => state,
        g => panic!("not a lease grant: {g:?}"),
    }
}

// ---- states ----

#[test]
fn lease_state_rules() {
    use LeaseState as S;
    assert_eq!(S::RWH.without(S::W), S::RH);
    assert_eq!(S::RWH.without(S::H), S::RW);
    assert_eq!(S::RH.without(S::RW), S::NONE);
    assert_eq!(S::RW.without(S::W), S::R);
    for alone in [S::H, S::W, S::from_bits(6)] {
        assert_eq!(alone.grantable(false, false), S::NONE);
    }
    assert_eq!(S::RWH.grantable(false, false), S::RWH);
    assert_eq!(S::RWH.grantable(true, false), S::NONE);
    assert_eq!(S::RWH.grantable(true, true), S::RH);
    assert_eq!(S::RW.grantable(true, true), S::R);
    assert_eq!(S::from_bits(0xff), S::RWH);
    assert_eq!(S::RWH.to_string(), "RWH");
    assert_eq!(S::NONE.to_string(), "NONE");
    assert!(S::RWH.is_strict_superset_of(S::RH));
    assert!(!S::RH.is_strict_superset_of(S::RH));
}

// ---- the break table (docs/LEASES.md "What breaks what") ----

/// One row: the operation, whether the holder's open denies write sharing
/// (to provoke a sharing violation), and per holder state (RWH, RW, RH, R)
/// the expected break target (None: no break) and whether the caller waits.
struct Row {
    name: &'static str,
    op: Operation,
    holder_share: u32,
    expect: [Option<(LeaseState, bool)>; 4],
}

fn table() -> Vec<Row> {
    use LeaseState as S;
    let w_break = [Some((S::RH, true)), Some((S::R, true)), None, None];
    let rw_break = [Some((S::NONE, true)), Some((S::NONE, true)), Some((S::NONE, false)), Some((S::NONE, false))];
    let h_wait = [Some((S::RW, true)), None, Some((S::R, true)), None];
    let h_nowait = [Some((S::RW, false)), None, Some((S::R, false)), None];
    vec![
        Row { name: "open", op: open_op(access::FILE_READ_DATA), holder_share: ALL, expect: w_break },
        Row {
            name: "open truncate",
            op: Operation::Open { access: access::FILE_WRITE_DATA, share: ALL, truncate: true },
            holder_share: ALL,
            expect: rw_break,
        },
        Row {
            name: "open sharing violation",
            op: Operation::Open { access: access::FILE_WRITE_DATA, share: ALL, truncate: false },
            holder_share: share::READ,
            expect: h_wait,
        },
        Row { name: "read", op: Operation::Read, holder_share: ALL, expect: w_break },
        Row { name: "flush", op: Operation::Flush, holder_share: ALL, expect: w_break },
        Row { name: "write", op: Operation::Write, holder_share: ALL, expect: rw_break },
        Row { name: "lock", op: Operation::Lock, holder_share: ALL, expect: rw_break },
        Row { name: "set eof", op: Operation::SetEndOfFile, holder_share: ALL, expect: rw_break },
        Row { name: "rename", op: Operation::Rename, holder_share: ALL, expect: h_wait },
        Row { name: "delete", op: Operation::Delete, holder_share: ALL, expect: h_wait },
        Row { name: "link", op: Operation::Link, holder_share: ALL, expect: h_nowait },
        Row { name: "set security", op: Operation::SetSecurity, holder_share: ALL, expect: h_nowait },
    ]
}

#[test]
fn break_table_for_every_state_and_operation() {
    use LeaseState as S;
    for row in table() {
        for (i, held) in [S::RWH, S::RW, S::RH, S::R].into_iter().enumerate() {
            let ctx = format!("{} against {held}", row.name);
            let mut fx = Fx::new();
            let (open, g) = fx.lease_open_share(G1, K1, held, C1, row.holder_share);
            assert_eq!(granted_state(g), held, "{ctx}");
            let d = fx.begin(row.op, Caller::Nobody, 1);
            let notes = fx.notes();
            match row.expect[i] {
                None => {
                    assert_eq!(d, Decision::Proceed, "{ctx}");
                    assert!(notes.is_empty(), "{ctx}: {notes:?}");
                    assert_eq!(fx.state(G1, K1), held, "{ctx}");
                }
                Some((new, wait)) => {
                    assert_eq!(notes.len(), 1, "{ctx}: {notes:?}");
                    let n = &notes[0];
                    assert_eq!((n.current, n.new), (held, new), "{ctx}");
                    let ack = held.intersects(S::W.union(S::H));
                    assert_eq!(n.ack_required, ack, "{ctx}");
                    assert_eq!(n.epoch, 2, "{ctx}: v2 epoch 1 at grant, +1 for the break");
                    assert_eq!(n.version, LeaseVersion::V2);
                    assert_eq!(
                        n.target,
                        BreakTarget::Lease { client_guid: G1, key: K1, conns: vec![C1], opens: vec![open] },
                        "{ctx}"
                    );
                    assert_eq!(d, if wait { Decision::Wait } else { Decision::Proceed }, "{ctx}");
                    assert_eq!(fx.t.is_parked(tok(1)), wait, "{ctx}");
                    if ack {
                        // Still held until the ack; the ack releases the waiter.
                        assert_eq!(fx.state(G1, K1), held, "{ctx}");
                        assert_eq!(fx.t.break_deadline(1), Some(fx.at(TIMEOUT)), "{ctx}");
                        assert_eq!(fx.ack(G1, K1, new), Ok(new), "{ctx}");
                        assert_eq!(fx.t.take_woken(), if wait { vec![tok(1)] } else { vec![] }, "{ctx}");
                        assert!(fx.t.poll_timeout().is_none(), "{ctx}");
                    } else {
                        // R -> NONE needs no ack: NONE at once, no timer.
                        assert_eq!(fx.state(G1, K1), S::NONE, "{ctx}");
                        assert!(fx.t.poll_timeout().is_none(), "{ctx}");
                        assert_eq!(fx.ack(G1, K1, S::NONE), Err(AckError::NotBreaking), "{ctx}");
                    }
                    assert_eq!(fx.state(G1, K1), new, "{ctx}");
                    assert_eq!(fx.t.parked(), 0, "{ctx}");
                }
            }
        }
    }
}

#[test]
fn stat_opens_break_nothing() {
    let stat =
        access::FILE_READ_ATTRIBUTES | access::FILE_WRITE_ATTRIBUTES | access::READ_CONTROL | access::SYNCHRONIZE;
    for held in [LeaseState::RWH, LeaseState::RW, LeaseState::RH, LeaseState::R] {
        let mut fx = Fx::new();
        fx.lease_open(G1, K1, held, C1);
        assert_eq!(fx.begin(open_op(stat), Caller::Nobody, 1), Decision::Proceed);
        assert!(fx.notes().is_empty());
        assert_eq!(fx.state(G1, K1), held);
    }
}

#[test]
fn own_lease_never_breaks_itself() {
    let mut fx = Fx::new();
    let (o, _) = fx.lease_open(G1, K1, LeaseState::RWH, C1);
    for op in [open_op(DATA), Operation::Write, Operation::Read, Operation::Rename, Operation::Delete] {
        assert_eq!(fx.begin(op, Caller::Lease(G1, K1), 1), Decision::Proceed);
        assert_eq!(fx.begin(op, Caller::Open(o), 2), Decision::Proceed);
    }
    assert!(fx.notes().is_empty());
    // The same key on another client is another lease.
    assert_eq!(fx.begin(Operation::Write, Caller::Lease(G2, K1), 3), Decision::Wait);
    assert_eq!(fx.notes().len(), 1);
}

#[test]
fn sharing_violation_without_h_holders_breaks_nothing() {
    let mut fx = Fx::new();
    fx.lease_open_share(G1, K1, LeaseState::RW, C1, share::READ);
    let op = Operation::Open { access: access::FILE_WRITE_DATA, share: ALL, truncate: false };
    assert_eq!(fx.begin(op, Caller::Nobody, 1), Decision::Proceed);
    assert!(fx.notes().is_empty());
    assert_eq!(fx.t.check_share(F, access::FILE_WRITE_DATA, ALL), Err(SharingViolation));
}

#[test]
fn sharing_violation_h_break_then_recheck() {
    let mut fx = Fx::new();
    let (o, _) = fx.lease_open_share(G1, K1, LeaseState::RH, C1, share::READ);
    let op = Operation::Open { access: access::FILE_WRITE_DATA, share: ALL, truncate: false };
    assert_eq!(fx.begin(op, Caller::Nobody, 1), Decision::Wait);
    let n = fx.notes();
    assert_eq!((n[0].current, n[0].new), (LeaseState::RH, LeaseState::R));
    // The holder gives up its cached handle: the close frees the lease and
    // releases the open, which re-runs and now passes the sharing check.
    fx.t.close_open(o, fx.base);
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    assert!(fx.t.poll_timeout().is_none());
    assert_eq!(fx.begin(op, Caller::Nobody, 1), Decision::Proceed);
    assert_eq!(fx.t.check_share(F, access::FILE_WRITE_DATA, ALL), Ok(()));
}

// ---- grants, upgrades, epochs ----

#[test]
fn grant_drops_w_then_h_and_h_or_w_alone_is_none() {
    let mut fx = Fx::new();
    // H alone is NONE, and the response echoes the client's epoch.
    let id = fx.t.add_open(F, DATA, ALL, C1);
    let g = fx.t.grant(F, id, Fx::lease_req(G1, K1, LeaseState::H, LeaseVersion::V2, 9), fx.base).unwrap();
    assert_eq!(
        g,
        Grant::Lease { state: LeaseState::NONE, epoch: 9, flags: 0, version: LeaseVersion::V2, parent_key: None }
    );
    // A second client with another data open there: no W.
    let (_, g) = fx.lease_open(G2, K2, LeaseState::RWH, C2);
    assert_eq!(granted_state(g), LeaseState::RH);
    // A new grant answers the client's epoch + 1.
    let id = fx.t.add_open(F, DATA, ALL, C3);
    let g = fx.t.grant(F, id, Fx::lease_req(G2, K3, LeaseState::RW, LeaseVersion::V2, 41), fx.base).unwrap();
    assert_eq!(
        g,
        Grant::Lease { state: LeaseState::R, epoch: 42, flags: 0, version: LeaseVersion::V2, parent_key: None }
    );
}

#[test]
fn w_needs_no_other_data_open_but_stat_opens_do_not_count() {
    let mut fx = Fx::new();
    fx.t.add_open(F, access::FILE_READ_ATTRIBUTES | access::SYNCHRONIZE, ALL, C2);
    let (_, g) = fx.lease_open(G1, K1, LeaseState::RWH, C1);
    assert_eq!(granted_state(g), LeaseState::RWH);
}

#[test]
fn directories_get_none_unless_directory_leasing() {
    for (on, expect) in [(false, LeaseState::NONE), (true, LeaseState::RH)] {
        let mut t = LeaseTable::new(TIMEOUT).with_directory_leasing(on);
        let id = t.add_open(F, access::FILE_READ_DATA, ALL, C1);
        let req = GrantRequest::Lease {
            client_guid: G1,
            key: K1,
            requested: LeaseState::RWH,
            version: LeaseVersion::V2,
            epoch: 0,
            parent_key: Some([5; 16]),
            is_directory: true,
        };
        let g = t.grant(F, id, req, Instant::now()).unwrap();
        let Grant::Lease { state, flags, parent_key, .. } = g else { panic!() };
        assert_eq!(state, expect);
        assert_eq!(flags, LEASE_FLAG_PARENT_LEASE_KEY_SET);
        assert_eq!(parent_key, Some([5; 16]));
    }
}

#[test]
fn same_key_upgrades_only_to_strict_superset_and_never_reduces() {
    let mut fx = Fx::new();
    let (_, g) = fx.lease_open(G1, K1, LeaseState::R, C1);
    assert_eq!(
        g,
        Grant::Lease { state: LeaseState::R, epoch: 1, flags: 0, version: LeaseVersion::V2, parent_key: None }
    );
    let (_, g) = fx.lease_open(G1, K1, LeaseState::RH, C1);
    assert_eq!(
        g,
        Grant::Lease { state: LeaseState::RH, epoch: 2, flags: 0, version: LeaseVersion::V2, parent_key: None }
    );
    let (_, g) = fx.lease_open(G1, K1, LeaseState::RWH, C1);
    assert_eq!(
        g,
        Grant::Lease { state: LeaseState::RWH, epoch: 3, flags: 0, version: LeaseVersion::V2, parent_key: None }
    );
    // Asking for less (or the same) changes nothing, epoch included.
    for ask in [LeaseState::R, LeaseState::RH, LeaseState::RWH, LeaseState::NONE] {
        let (_, g) = fx.lease_open(G1, K1, ask, C1);
        assert_eq!(granted_state(g), LeaseState::RWH);
        assert_eq!(fx.t.lease_info(G1, K1).unwrap().epoch, 3);
    }
    assert_eq!(fx.t.lease_info(G1, K1).unwrap().open_count, 7);
}

#[test]
fn upgrade_happens_only_when_the_whole_request_can_be_held() {
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, LeaseState::R, C1);
    fx.t.add_open(F, access::FILE_READ_DATA, ALL, C2);
    // RWH cannot be held beside another data open: no change at all.
    let (_, g) = fx.lease_open(G1, K1, LeaseState::RWH, C1);
    assert_eq!(granted_state(g), LeaseState::R);
    assert_eq!(fx.t.lease_info(G1, K1).unwrap().epoch, 1);
    // RH can.
    let (_, g) = fx.lease_open(G1, K1, LeaseState::RH, C1);
    assert_eq!(granted_state(g), LeaseState::RH);
    assert_eq!(fx.t.lease_info(G1, K1).unwrap().epoch, 2);
}

#[test]
fn same_key_open_during_break_gets_current_state_and_break_in_progress() {
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, LeaseState::RWH, C1);
    assert_eq!(fx.begin(open_op(access::FILE_READ_DATA), Caller::Nobody, 1), Decision::Wait);
    let (_, g) = fx.lease_open(G1, K1, LeaseState::RWH, C2);
    assert_eq!(
        g,
        Grant::Lease {
            state: LeaseState::RWH,
            epoch: 2,
            flags: LEASE_FLAG_BREAK_IN_PROGRESS,
            version: LeaseVersion::V2,
            parent_key: None
        }
    );
    // The open under the same key does not break or wait.
    assert_eq!(fx.begin(open_op(DATA), Caller::Lease(G1, K1), 2), Decision::Proceed);
    assert_eq!(fx.notes().len(), 1);
}

#[test]
fn key_reused_on_another_file_is_invalid_parameter() {
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, LeaseState::RWH, C1);
    let id = fx.t.add_open(F + 1, DATA, ALL, C1);
    let r = fx.t.grant(F + 1, id, Fx::lease_req(G1, K1, LeaseState::R, LeaseVersion::V2, 0), fx.base);
    assert_eq!(r, Err(GrantError::InvalidParameter));
    // Another client may use the same key bytes.
    let r = fx.t.grant(F + 1, id, Fx::lease_req(G2, K1, LeaseState::R, LeaseVersion::V2, 0), fx.base);
    assert_eq!(granted_state(r.unwrap()), LeaseState::R);
    assert_eq!(fx.t.grant(F, OpenId(999), GrantRequest::None, fx.base), Err(GrantError::UnknownOpen));
}

#[test]
fn version_is_sticky_and_v1_notifications_carry_epoch_zero() {
    let mut fx = Fx::new();
    let id = fx.t.add_open(F, DATA, ALL, C1);
    let g = fx.t.grant(F, id, Fx::lease_req(G1, K1, LeaseState::RWH, LeaseVersion::V1, 77), fx.base).unwrap();
    assert_eq!(
        g,
        Grant::Lease { state: LeaseState::RWH, epoch: 0, flags: 0, version: LeaseVersion::V1, parent_key: None }
    );
    let id = fx.t.add_open(F, DATA, ALL, C1);
    let g = fx.t.grant(F, id, Fx::lease_req(G1, K1, LeaseState::RWH, LeaseVersion::V2, 5), fx.base).unwrap();
    let Grant::Lease { version, epoch, .. } = g else { panic!() };
    assert_eq!((version, epoch), (LeaseVersion::V1, 0));
    fx.begin(Operation::Write, Caller::Nobody, 1);
    let n = fx.notes();
    assert_eq!((n[0].epoch, n[0].version), (0, LeaseVersion::V1));
}

#[test]
fn v2_epoch_counts_grant_upgrade_and_each_break() {
    let mut fx = Fx::new();
    let id = fx.t.add_open(F, DATA, ALL, C1);
    let g = fx.t.grant(F, id, Fx::lease_req(G1, K1, LeaseState::RH, LeaseVersion::V2, 10), fx.base).unwrap();
    assert_eq!(
        g,
        Grant::Lease { state: LeaseState::RH, epoch: 11, flags: 0, version: LeaseVersion::V2, parent_key: None }
    );
    let (_, g) = fx.lease_open(G1, K1, LeaseState::RWH, C1);
    let Grant::Lease { epoch, .. } = g else { panic!() };
    assert_eq!(epoch, 12);
    fx.begin(open_op(access::FILE_READ_DATA), Caller::Nobody, 1);
    assert_eq!(fx.notes()[0].epoch, 13);
    fx.ack(G1, K1, LeaseState::RH).unwrap();
    fx.begin(Operation::Rename, Caller::Nobody, 2);
    assert_eq!(fx.notes()[0].epoch, 14);
    assert_eq!(fx.t.lease_info(G1, K1).unwrap().epoch, 14);
}

// ---- acks, chained breaks, timeouts, closes ----

#[test]
fn chained_break_rwh_rh_r_none_releases_waiters_only_when_resolved() {
    use LeaseState as S;
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, S::RWH, C1);
    // An open removes W: RWH -> RH, waits.
    assert_eq!(fx.begin(open_op(access::FILE_READ_DATA), Caller::Nobody, 1), Decision::Wait);
    // A rename during the break narrows it to R without a notification.
    assert_eq!(fx.begin(Operation::Rename, Caller::Nobody, 2), Decision::Wait);
    let n = fx.notes();
    assert_eq!(n.len(), 1);
    assert_eq!((n[0].current, n[0].new, n[0].epoch), (S::RWH, S::RH, 2));
    assert_eq!(fx.t.lease_info(G1, K1).unwrap().break_to, S::RH);
    // Ack RH: W is gone (the open goes on); the next break leaves at once.
    assert_eq!(fx.ack(G1, K1, S::RH), Ok(S::RH));
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    let n = fx.notes();
    // It continues the acked break: same epoch (MS-SMB2 3.3.4.7 note <248>).
    assert_eq!((n.len(), n[0].current, n[0].new, n[0].ack_required, n[0].epoch), (1, S::RH, S::R, true, 2));
    let info = fx.t.lease_info(G1, K1).unwrap();
    assert!(info.breaking);
    assert_eq!((info.state, info.break_to), (S::RH, S::R));
    // A write now narrows to NONE; it waits for nothing (no W held).
    assert_eq!(fx.begin(Operation::Write, Caller::Nobody, 3), Decision::Proceed);
    assert!(fx.notes().is_empty());
    assert!(fx.t.is_parked(tok(2)));
    // Ack R: H is gone, the rename goes on; R -> NONE needs no ack.
    assert_eq!(fx.ack(G1, K1, S::R), Ok(S::R));
    assert_eq!(fx.t.take_woken(), vec![tok(2)]);
    let n = fx.notes();
    assert_eq!((n.len(), n[0].current, n[0].new, n[0].ack_required, n[0].epoch), (1, S::R, S::NONE, false, 2));
    assert_eq!(fx.state(G1, K1), S::NONE);
    assert!(fx.t.poll_timeout().is_none());
    assert_eq!(fx.ack(G1, K1, S::NONE), Err(AckError::NotBreaking));
    let c = fx.t.take_counters();
    assert_eq!((c.breaks_sent, c.breaks_acked, c.ops_parked), (3, 2, 2));
}

#[test]
fn waiter_on_h_stays_parked_until_h_is_gone() {
    use LeaseState as S;
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, S::RWH, C1);
    // Delete: RWH -> RW, waits for H.
    assert_eq!(fx.begin(Operation::Delete, Caller::Nobody, 1), Decision::Wait);
    // A write narrows the target to NONE and also waits (W).
    assert_eq!(fx.begin(Operation::Write, Caller::Nobody, 2), Decision::Wait);
    assert_eq!(fx.notes().len(), 1);
    // The client acks RW (allowed: the notification said RW): H and... W
    // is still there, so only the delete goes on; the next break leaves.
    assert_eq!(fx.ack(G1, K1, S::RW), Ok(S::RW));
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    let n = fx.notes();
    assert_eq!((n[0].current, n[0].new, n[0].ack_required), (S::RW, S::NONE, true));
    assert_eq!(fx.ack(G1, K1, S::NONE), Ok(S::NONE));
    assert_eq!(fx.t.take_woken(), vec![tok(2)]);
}

#[test]
fn ack_errors() {
    use LeaseState as S;
    let mut fx = Fx::new();
    assert_eq!(fx.ack(G1, K1, S::NONE), Err(AckError::NotFound));
    fx.lease_open(G1, K1, S::RWH, C1);
    // Unsolicited.
    assert_eq!(fx.ack(G1, K1, S::RWH), Err(AckError::NotBreaking));
    fx.begin(open_op(access::FILE_READ_DATA), Caller::Nobody, 1);
    // Not a subset of RH.
    assert_eq!(fx.ack(G1, K1, S::RWH), Err(AckError::NotSubset));
    assert_eq!(fx.ack(G1, K1, S::RW), Err(AckError::NotSubset));
    assert!(fx.t.lease_info(G1, K1).unwrap().breaking);
    assert!(fx.t.is_parked(tok(1)));
    // Unknown key on the same client.
    assert_eq!(fx.ack(G1, K2, S::R), Err(AckError::NotFound));
    // Any subset is accepted.
    assert_eq!(fx.ack(G1, K1, S::R), Ok(S::R));
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    // Duplicate.
    assert_eq!(fx.ack(G1, K1, S::R), Err(AckError::NotBreaking));
}

#[test]
fn timeout_at_exactly_break_timeout_drops_to_none() {
    use LeaseState as S;
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, S::RWH, C1);
    assert_eq!(fx.begin(open_op(access::FILE_READ_DATA), Caller::Nobody, 1), Decision::Wait);
    assert_eq!(fx.notes()[0].new, S::RH);
    assert_eq!(fx.t.poll_timeout(), Some(fx.at(TIMEOUT)));
    assert_eq!(fx.fire(fx.at(TIMEOUT - Duration::from_micros(1))), 0);
    assert!(fx.t.take_woken().is_empty());
    assert!(fx.t.is_parked(tok(1)));
    assert_eq!(fx.fire(fx.at(TIMEOUT)), 1);
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    // NONE, not the break-to state RH.
    assert_eq!(fx.state(G1, K1), S::NONE);
    assert!(!fx.t.lease_info(G1, K1).unwrap().breaking);
    assert_eq!(fx.ack(G1, K1, S::RH), Err(AckError::NotBreaking));
    let c = fx.t.take_counters();
    assert_eq!((c.breaks_sent, c.breaks_timed_out, c.breaks_acked, c.ops_parked), (1, 1, 0, 1));
    assert_eq!(c.time_parked, TIMEOUT);
    // A spurious or repeated timeout is harmless.
    let later = fx.at(TIMEOUT * 2);
    fx.t.break_timed_out(1, later);
    assert_eq!(fx.t.take_counters().breaks_timed_out, 0);
}

#[test]
fn last_close_frees_the_lease_and_releases_the_waiter() {
    use LeaseState as S;
    let mut fx = Fx::new();
    let (a, _) = fx.lease_open(G1, K1, S::RWH, C1);
    let (b, _) = fx.lease_open(G1, K1, S::RWH, C1);
    assert_eq!(fx.t.lease_info(G1, K1).unwrap().open_count, 2);
    assert_eq!(fx.begin(Operation::Write, Caller::Nobody, 1), Decision::Wait);
    fx.t.close_open(a, fx.base);
    assert!(fx.t.take_woken().is_empty());
    assert!(fx.t.lease_info(G1, K1).is_some());
    fx.t.close_open(b, fx.base + Duration::from_secs(2));
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    assert!(fx.t.lease_info(G1, K1).is_none());
    assert!(fx.t.poll_timeout().is_none());
    assert_eq!(fx.ack(G1, K1, S::NONE), Err(AckError::NotFound));
    assert_eq!(fx.t.take_counters().time_parked, Duration::from_secs(2));
    // The key is free again, even for another file.
    let id = fx.t.add_open(F + 1, DATA, ALL, C1);
    let g = fx.t.grant(F + 1, id, Fx::lease_req(G1, K1, S::RWH, LeaseVersion::V2, 0), fx.base).unwrap();
    assert_eq!(granted_state(g), S::RWH);
}

#[test]
fn closing_the_breaking_lease_ends_its_break_and_deadline() {
    let mut fx = Fx::new();
    let (a, _) = fx.lease_open(G1, K1, LeaseState::RWH, C1);
    fx.begin(Operation::Write, Caller::Nobody, 1);
    assert!(fx.t.close_open(a, fx.base).is_some());
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
    // The table keeps its own deadlines: the ended break leaves none behind.
    assert_eq!(fx.t.poll_timeout(), None);
    assert_eq!(fx.fire(fx.at(TIMEOUT)), 0);
    assert_eq!(fx.t.take_counters().breaks_timed_out, 0);
}

#[test]
fn one_client_guid_on_two_connections() {
    use LeaseState as S;
    let mut fx = Fx::new();
    let (a, _) = fx.lease_open(G1, K1, S::RWH, C1);
    let (b, _) = fx.lease_open(G1, K1, S::RWH, C2);
    let (c, _) = fx.lease_open(G1, K1, S::RWH, C1);
    fx.begin(Operation::Write, Caller::Nobody, 1);
    let n = fx.notes();
    let (conns, opens) = (vec![C1, C2], vec![c, b, a]);
    assert_eq!(n[0].target, BreakTarget::Lease { client_guid: G1, key: K1, conns, opens });
    // The ack carries no connection: whichever one it comes on is fine.
    assert_eq!(fx.ack(G1, K1, S::NONE), Ok(S::NONE));
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
}

#[test]
fn cancel_and_close_conn_forget_waiters() {
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, LeaseState::RWH, C1);
    assert_eq!(fx.begin(Operation::Write, Caller::Nobody, 1), Decision::Wait);
    let other = WaitToken { conn: C3, op: 5 };
    assert_eq!(fx.t.begin(F, Operation::Read, Caller::Nobody, other, fx.base), Decision::Wait);
    assert!(fx.t.cancel_waiter(tok(1)));
    assert!(!fx.t.cancel_waiter(tok(1)));
    assert_eq!(fx.t.close_conn(C3, fx.base), vec![]);
    assert_eq!(fx.t.parked(), 0);
    fx.ack(G1, K1, LeaseState::NONE).unwrap();
    assert!(fx.t.take_woken().is_empty());
    // Closing the holder's connection frees its lease.
    assert_eq!(fx.t.close_conn(C1, fx.base).len(), 1);
    assert!(fx.t.lease_info(G1, K1).is_none());
}

// ---- NFS (Caller::Nobody) against SMB leases, docs/LEASES.md "NFS against leases" ----

#[test]
fn nfs_calls_against_leases() {
    use LeaseState as S;
    let cases = [
        (S::RWH, Operation::Write, Some(S::NONE), Decision::Wait),
        (S::RW, Operation::Read, Some(S::R), Decision::Wait),
        (S::RH, Operation::Read, None, Decision::Proceed),
        (S::RH, Operation::Rename, Some(S::R), Decision::Wait),
        (S::RH, Operation::Write, Some(S::NONE), Decision::Proceed),
        (S::RWH, Operation::SetSecurity, Some(S::RW), Decision::Proceed),
    ];
    for (held, op, new, decision) in cases {
        let mut fx = Fx::new();
        fx.lease_open(G1, K1, held, C1);
        assert_eq!(fx.begin(op, Caller::Nobody, 1), decision, "{op:?} against {held}");
        let n = fx.notes();
        assert_eq!(
            n.iter().map(|n| (n.current, n.new)).collect::<Vec<_>>(),
            new.map(|s| (held, s)).into_iter().collect::<Vec<_>>()
        );
    }
}

#[test]
fn breaks_of_several_holders_come_out_in_order_and_the_waiter_needs_all() {
    use LeaseState as S;
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, S::RH, C1);
    fx.lease_open(G2, K2, S::RH, C2);
    assert_eq!(fx.begin(Operation::Delete, Caller::Nobody, 1), Decision::Wait);
    let n = fx.notes();
    let keys: Vec<_> = n
        .iter()
        .map(|n| match &n.target {
            BreakTarget::Lease { key, .. } => *key,
            t => panic!("{t:?}"),
        })
        .collect();
    assert_eq!(keys, vec![K1, K2]);
    fx.ack(G2, K2, S::R).unwrap();
    assert!(fx.t.take_woken().is_empty());
    fx.ack(G1, K1, S::R).unwrap();
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
}

mod directory;
mod durable;
mod lock_waits;
mod oplocks;
mod walk;

/// Found by the randomized simulation (seeds 4529 and 1249): a rename waits
/// on two leases; one client closes its last open (its lease key is free
/// again) and reuses the key, on another file or on this one. When the other
/// break times out the rename must be woken: the new lease is not the one it
/// waited for (re-run, the rename breaks the new one if it must).
#[test]
fn a_lease_key_reused_after_its_last_close_does_not_hold_a_waiter() {
    for reuse_on in [F + 1, F] {
        let mut fx = Fx::new();
        let (a, _) = fx.lease_open_share(G1, K1, LeaseState::RH, C1, ALL);
        let _ = fx.lease_open_share(G2, K2, LeaseState::RH, C2, ALL);
        assert_eq!(fx.begin(Operation::Rename, Caller::Nobody, 1), Decision::Wait);
        assert_eq!(fx.notes().len(), 2);
        fx.t.close_open(a, fx.base);
        let other = fx.t.add_open(reuse_on, DATA, ALL, C1);
        let req = Fx::lease_req(G1, K1, LeaseState::RH, LeaseVersion::V2, 0);
        fx.t.grant(reuse_on, other, req, fx.base).unwrap();
        assert!(fx.t.take_woken().is_empty(), "G2 has not answered yet");
        fx.fire(fx.at(TIMEOUT));
        assert_eq!(fx.t.take_woken(), vec![tok(1)], "reused on {reuse_on}");
        assert_eq!(fx.t.parked(), 0);
    }
}

/// Found by the simulation (seed 1043): a lease acks its break (H gone),
/// then a new open under the same key upgrades it back to RH before the
/// other break the rename waits on times out. The rename must be woken then;
/// its re-run breaks the upgraded lease if it must.
#[test]
fn a_lease_upgraded_after_its_break_does_not_hold_a_waiter() {
    let mut fx = Fx::new();
    let _ = fx.lease_open_share(G1, K1, LeaseState::RH, C1, ALL);
    let _ = fx.lease_open_share(G2, K2, LeaseState::RH, C2, ALL);
    assert_eq!(fx.begin(Operation::Rename, Caller::Nobody, 1), Decision::Wait);
    assert_eq!(fx.notes().len(), 2);
    assert_eq!(fx.ack(G1, K1, LeaseState::R), Ok(LeaseState::R));
    let (_, g) = fx.lease_open_share(G1, K1, LeaseState::RH, C1, ALL);
    assert!(matches!(g, Grant::Lease { state: LeaseState::RH, .. }), "{g:?}");
    assert!(fx.t.take_woken().is_empty(), "G2 has not answered yet");
    fx.fire(fx.at(TIMEOUT));
    assert_eq!(fx.t.take_woken(), vec![tok(1)]);
}

/// smbtorture smb2.lease.breaking4: an overwrite meeting an RH lease breaks
/// it to NONE (ack required, H held) without waiting, and a second one
/// meeting that break in progress neither waits nor breaks again.
#[test]
fn opens_meeting_an_rh_break_in_progress_do_not_wait() {
    use LeaseState as S;
    let mut fx = Fx::new();
    fx.lease_open(G1, K1, S::RH, C1);
    let overwrite = Operation::Open { access: DATA, share: ALL, truncate: true };
    assert_eq!(fx.begin(overwrite, Caller::Nobody, 1), Decision::Proceed);
    let n = fx.notes();
    assert_eq!((n.len(), n[0].current, n[0].new, n[0].ack_required), (1, S::RH, S::NONE, true));
    assert_eq!(fx.begin(overwrite, Caller::Nobody, 2), Decision::Proceed);
    assert!(fx.notes().is_empty());
    // An operation that needs H still waits for it.
    assert_eq!(fx.begin(Operation::Rename, Caller::Nobody, 3), Decision::Wait);
}

/// smbtorture smb2.lease.v2_breaking3: a break caused by an operation an
/// ack released continues the acked break and keeps its epoch (MS-SMB2
/// 3.3.4.7 note <248>); the same break by anyone else takes a new epoch.
#[test]
fn a_break_by_an_operation_released_by_the_ack_keeps_the_epoch() {
    use LeaseState as S;
    for (rerun, want) in [(2, 13), (9, 14)] {
        let mut fx = Fx::new();
        let g = fx.t.add_open(F, DATA, ALL, C1);
        fx.t.grant(F, g, Fx::lease_req(G1, K1, S::RWH, LeaseVersion::V2, 11), fx.base).unwrap();
        let overwrite = Operation::Open { access: DATA, share: ALL, truncate: true };
        assert_eq!(fx.begin(open_op(DATA), Caller::Nobody, 1), Decision::Wait);
        assert_eq!(fx.notes()[0].epoch, 13);
        // The overwrite meets the break: it waits for all of it.
        assert_eq!(fx.begin(overwrite, Caller::Nobody, 2), Decision::Wait);
        assert_eq!(fx.ack(G1, K1, S::RH), Ok(S::RH));
        let n = fx.notes();
        assert_eq!((n[0].current, n[0].new, n[0].epoch), (S::RH, S::R, 13), "chained");
        assert_eq!(fx.ack(G1, K1, S::R), Ok(S::R));
        assert_eq!(fx.t.take_woken(), vec![tok(1), tok(2)]);
        // The overwrite runs again (or another one comes): R -> NONE.
        assert_eq!(fx.begin(overwrite, Caller::Nobody, rerun), Decision::Proceed);
        let n = fx.notes();
        assert_eq!((n[0].current, n[0].new, n[0].epoch), (S::R, S::NONE, want), "token {rerun}");
    }
}
