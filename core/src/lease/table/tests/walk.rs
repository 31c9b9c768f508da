//! Random walks through the table keep its invariants.

use super::*;

fn check_invariants(t: &LeaseTable) -> Result<(), String> {
    let holders = t
        .leases
        .iter()
        .map(|(o, l)| (Holder::Lease(*o), l.caching))
        .chain(t.oplocks.iter().map(|(o, c)| (Holder::Oplock(*o), *c)));
    let mut breaking = 0;
    for (h, c) in holders {
        if c.state != c.state.normalized() {
            return Err(format!("{h:?} holds an impossible state {}", c.state));
        }
        if c.breaking {
            breaking += 1;
            if t.breaks.get(&c.break_id) != Some(&h) {
                return Err(format!("{h:?} breaking without a break entry"));
            }
            if t.break_deadline(c.break_id).is_none() {
                return Err(format!("{h:?} breaking without a timer"));
            }
            if !c.break_to.is_subset_of(c.state) || c.break_to == c.state || !c.required.is_subset_of(c.break_to) {
                return Err(format!("{h:?} break {} -> {} (required {})", c.state, c.break_to, c.required));
            }
        }
    }
    if breaking != t.breaks.len() {
        return Err(format!("{} breaks for {breaking} breaking holders", t.breaks.len()));
    }
    for (o, l) in &t.leases {
        if l.opens.is_empty() || l.opens.iter().any(|id| t.open_lease.get(id) != Some(o) || !t.opens.contains_key(id)) {
            return Err(format!("lease {o:?} with bad opens {:?}", l.opens));
        }
    }
    // Every parked operation still waits for something.
    for w in t.waiters.iter() {
        if !w.deps.iter().any(|(h, serial, bits)| held_by(&t.leases, &t.oplocks, h, *serial).intersects(*bits)) {
            return Err(format!("{:?} parked for nothing", w.token));
        }
    }
    Ok(())
}

quickcheck::quickcheck! {
    fn random_walk_keeps_invariants(steps: Vec<(u8, u8, u8, u8)>) -> quickcheck::TestResult {
        let mut fx = Fx::new();
        let guids = [G1, G2];
        let keys = [K1, K2, K3];
        let mut opens: Vec<OpenId> = Vec::new();
        let mut now = fx.base;
        for (i, (kind, a, b, c)) in steps.into_iter().enumerate() {
            now += Duration::from_secs(u64::from(c % 8));
            let state = LeaseState::from_bits(u32::from(b));
            let guid = guids[usize::from(a % 2)];
            let key = keys[usize::from(b % 3)];
            match kind % 8 {
                0 | 1 => {
                    let id = fx.t.add_open(F, if c % 3 == 0 { access::FILE_READ_ATTRIBUTES } else { DATA }, if a % 4 == 0 { share::READ } else { ALL }, ConnId(u64::from(a % 3)));
                    let req = if c % 2 == 0 {
                        Fx::lease_req(guid, key, state, if a % 2 == 0 { LeaseVersion::V1 } else { LeaseVersion::V2 }, u16::from(c))
                    } else {
                        GrantRequest::Oplock([OplockLevel::None, OplockLevel::II, OplockLevel::Exclusive, OplockLevel::Batch][usize::from(b % 4)])
                    };
                    let _ = fx.t.grant(F, id, req, now);
                    opens.push(id);
                }
                2 => {
                    let ops = [open_op(DATA), Operation::Open { access: DATA, share: 0, truncate: c % 2 == 0 }, Operation::Read, Operation::Write, Operation::Lock, Operation::Rename, Operation::Delete, Operation::Link, Operation::SetSecurity, Operation::SetEndOfFile];
                    let op = ops[usize::from(b) % ops.len()];
                    let caller = match a % 3 {
                        0 => Caller::Nobody,
                        1 => Caller::Lease(guid, key),
                        _ => opens.get(usize::from(c)).map_or(Caller::Nobody, |o| Caller::Open(*o)),
                    };
                    fx.t.begin(F, op, caller, tok(i as u64), now);
                }
                3 => { let _ = fx.t.ack_lease(guid, key, state, now); }
                4 => if let Some(o) = opens.get(usize::from(a)) { let _ = fx.t.ack_oplock(*o, b % 3, now); },
                5 => if !opens.is_empty() {
                    let o = opens.remove(usize::from(a) % opens.len());
                    fx.t.close_open(o, now);
                },
                6 => { fx.fire(now); }
                _ => { fx.t.cancel_waiter(tok(u64::from(a))); }
            }
            fx.notes();
            if let Err(e) = check_invariants(&fx.t) {
                return quickcheck::TestResult::error(e);
            }
        }
        // Closing everything frees all caching and releases every waiter.
        for o in opens {
            fx.t.close_open(o, now);
        }
        let clean = fx.t.leases.is_empty() && fx.t.oplocks.is_empty() && fx.t.breaks.is_empty() && fx.t.parked() == 0 && fx.t.poll_timeout().is_none();
        quickcheck::TestResult::from_bool(clean)
    }
}
