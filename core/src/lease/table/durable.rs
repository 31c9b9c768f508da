//! Opens kept for a client that lost its connection (SMB durable opens,
//! MS-SMB2 3.3.7.1): they stay in the table with their share mode, lease or
//! oplock and byte-range locks, so every other open and every NFS call meets
//! them through the usual checks, until the holder reconnects
//! ([`LeaseTable::restore`]), their timeout passes, or a conflict would have
//! to break their caching: the notification has nowhere to go, so the open
//! is closed and the conflicting operation goes on at once (MS-SMB2 3.3.4.6,
//! 3.3.4.7). Each open closed this way is reported once
//! ([`LeaseTable::take_purged`]) for the protocol to forget its side.

use std::time::Instant;

use super::{HolderId, LeaseTable};
use crate::id::ConnId;
use crate::lease::open::OpenId;
use crate::lease::waiters::Holder;

impl LeaseTable {
    /// Keeps `open` past the end of its connection until `until`: it is not
    /// closed by [`LeaseTable::close_conn`]. Returns false (and keeps
    /// nothing) when the open is unknown.
    pub fn preserve(&mut self, open: OpenId, until: Instant) -> bool {
        if !self.opens.contains_key(&open) {
            return false;
        }
        self.preserved.insert(open, until);
        true
    }

    /// The holder of a preserved open is back on `conn`: the open is an
    /// ordinary one again. Returns false when it was not preserved (never,
    /// or already purged).
    pub fn restore(&mut self, open: OpenId, conn: ConnId) -> bool {
        if !self.preserved.remove(open) {
            return false;
        }
        if let Some(e) = self.opens.get_mut(&open) {
            e.conn = conn;
        }
        true
    }

    /// Is `open` kept for a disconnected holder?
    pub fn is_preserved(&self, open: OpenId) -> bool {
        self.preserved.contains(open)
    }

    /// How many opens are preserved now.
    pub fn preserved_count(&self) -> usize {
        self.preserved.len()
    }

    /// Preserved opens the table closed (timeout or conflict) since the last
    /// call.
    pub fn take_purged(&mut self) -> Vec<OpenId> {
        std::mem::take(&mut self.preserved.purged)
    }

    /// Closes the preserved opens whose time is up at `now`.
    pub(super) fn expire_preserved(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.preserved.deadlines.first() {
            if at > now {
                break;
            }
            tracing::info!(open = id.0, "durable open timed out");
            self.purge(id, now);
        }
    }

    /// A break of `h` was about to start: when every open behind it is
    /// preserved, nobody can hear it, so those opens are closed instead
    /// (their caching with them). Returns whether it did so.
    pub(super) fn purge_if_disconnected(&mut self, h: Holder, now: Instant) -> bool {
        let Some(opens) = self.disconnected_opens(h) else { return false };
        tracing::info!(holder = ?h, "break of a disconnected durable open closes it");
        for o in opens {
            self.purge(o, now);
        }
        true
    }

    /// Is every open behind `holder` preserved, so that the next break of
    /// its caching closes them instead?
    pub fn is_disconnected(&self, holder: HolderId) -> bool {
        let h = match holder {
            HolderId::Lease(owner) => Holder::Lease(owner),
            HolderId::Oplock(id) => Holder::Oplock(id),
        };
        self.disconnected_opens(h).is_some()
    }

    /// The opens behind `h`, when there are some and all are preserved.
    fn disconnected_opens(&self, h: Holder) -> Option<Vec<OpenId>> {
        let opens: Vec<OpenId> = match h {
            Holder::Lease(owner) => self.leases.get(&owner).map(|l| l.opens.clone()).unwrap_or_default(),
            Holder::Oplock(id) => vec![id],
        };
        (!opens.is_empty() && opens.iter().all(|o| self.preserved.contains(*o))).then_some(opens)
    }

    fn purge(&mut self, id: OpenId, now: Instant) {
        self.preserved.remove(id);
        self.close_open(id, now);
        self.preserved.purged.push(id);
    }
}
