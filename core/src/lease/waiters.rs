//! Operations parked until the breaks they depend on resolve
//! (MS-FSA 2.1.4.12 Oplock.WaitList). First parked, first woken.

use std::collections::BTreeMap;
use std::time::Instant;

use super::lease::LeaseOwner;
use super::open::OpenId;
use super::state::LeaseState;
use crate::id::WaitToken;

/// Something that holds caching on a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Holder {
    Lease(LeaseOwner),
    Oplock(OpenId),
}

#[derive(Debug, Clone)]
pub(crate) struct Waiter {
    pub token: WaitToken,
    /// The operation may go on once each holder (the instance with that
    /// serial) has lost these rights, or is gone.
    pub deps: Vec<(Holder, u64, LeaseState)>,
    pub parked_at: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Waiters {
    by_seq: BTreeMap<u64, Waiter>,
    by_token: BTreeMap<WaitToken, u64>,
    next: u64,
}

impl Waiters {
    /// Parks `w`, replacing an earlier wait under the same token. Returns
    /// whether the token is newly parked.
    pub fn park(&mut self, w: Waiter) -> bool {
        let fresh = self.cancel(w.token).is_none();
        self.next += 1;
        self.by_token.insert(w.token, self.next);
        self.by_seq.insert(self.next, w);
        fresh
    }

    pub fn cancel(&mut self, token: WaitToken) -> Option<Waiter> {
        let seq = self.by_token.remove(&token)?;
        self.by_seq.remove(&seq)
    }

    pub fn len(&self) -> usize {
        self.by_seq.len()
    }

    pub fn get(&self, token: WaitToken) -> Option<&Waiter> {
        self.by_seq.get(self.by_token.get(&token)?)
    }

    pub fn contains(&self, token: WaitToken) -> bool {
        self.by_token.contains_key(&token)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Waiter> + '_ {
        self.by_seq.values()
    }

    pub fn tokens(&self) -> impl Iterator<Item = WaitToken> + '_ {
        self.iter().map(|w| w.token)
    }

    /// Removes and returns, in parking order, every waiter for which
    /// `held(holder, serial)` no longer intersects any of its dependencies.
    pub fn take_ready(&mut self, held: impl Fn(&Holder, u64) -> LeaseState) -> Vec<Waiter> {
        let ready: Vec<u64> = self
            .by_seq
            .iter()
            .filter(|(_, w)| w.deps.iter().all(|(h, serial, bits)| !held(h, *serial).intersects(*bits)))
            .map(|(seq, _)| *seq)
            .collect();
        let mut out = Vec::with_capacity(ready.len());
        for seq in ready {
            if let Some(w) = self.by_seq.remove(&seq) {
                self.by_token.remove(&w.token);
                out.push(w);
            }
        }
        out
    }
}
