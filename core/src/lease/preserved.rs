//! Opens kept in the table for a holder that lost its connection, with the
//! instant each is given up (the table's durable deadlines; see
//! `table/durable.rs` for what they mean).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::open::OpenId;

/// The preserved opens and when each is given up.
#[derive(Debug, Default)]
pub(crate) struct Preserved {
    until: BTreeMap<OpenId, Instant>,
    pub(crate) deadlines: BTreeSet<(Instant, OpenId)>,
    /// Preserved opens closed by the table, not yet taken.
    pub(crate) purged: Vec<OpenId>,
}

impl Preserved {
    pub(crate) fn insert(&mut self, id: OpenId, until: Instant) {
        self.remove(id);
        self.until.insert(id, until);
        self.deadlines.insert((until, id));
    }

    pub(crate) fn remove(&mut self, id: OpenId) -> bool {
        match self.until.remove(&id) {
            Some(at) => self.deadlines.remove(&(at, id)),
            None => false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.until.len()
    }

    pub(crate) fn contains(&self, id: OpenId) -> bool {
        self.until.contains_key(&id)
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }
}
