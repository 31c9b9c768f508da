//! What the embedding program asks of a running server besides serving
//! (an administrator's reload, a status snapshot), the same for every
//! runtime: the adapter
//! takes [`Control`] commands on a channel of its own and hands each to
//! [`handle_control`] in the loop that feeds the core, so a reload is a core
//! input like any other (recorded, and ordered with the rest) and a
//! snapshot sees the core between two inputs.

use std::time::Instant;

use polyshare_core::Driver;
use polyshare_core::config::Reconfigure;
use polyshare_core::snapshot::Snapshot;

/// Where a snapshot goes: called once, on the core task, with it.
pub struct SnapshotReply(pub Box<dyn FnOnce(Snapshot) + Send>);

impl std::fmt::Debug for SnapshotReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SnapshotReply(..)")
    }
}

/// A command for the core task.
#[derive(Debug)]
pub enum Control {
    /// New shares, exports and accounts
    /// ([`Driver::handle_reconfigure`]).
    Reconfigure(Reconfigure),
    /// Take a [`Snapshot`] (`Server::snapshot`; read-only, not recorded).
    Snapshot(SnapshotReply),
}

/// Feeds `control` to the driver at `now`.
pub fn handle_control(driver: &mut Driver, control: Control, now: Instant) {
    match control {
        Control::Reconfigure(r) => {
            tracing::info!(shares = r.shares.len(), exports = r.exports.len(), users = r.users.len(), "reconfiguring");
            driver.handle_reconfigure(r, now);
        }
        Control::Snapshot(reply) => (reply.0)(driver.server().snapshot()),
    }
}
