//! What the embedding program asks of a running server besides serving
//! (an administrator's reload), the same for every runtime: the adapter
//! takes [`Control`] commands on a channel of its own and hands each to
//! [`handle_control`] in the loop that feeds the core, so the command is a
//! core input like any other (recorded, and ordered with the rest).

use std::time::Instant;

use polyshare_core::Driver;
use polyshare_core::config::Reconfigure;

/// A command for the core task.
#[derive(Debug, Clone)]
pub enum Control {
    /// New shares, exports and accounts
    /// ([`Driver::handle_reconfigure`]).
    Reconfigure(Reconfigure),
}

/// Feeds `control` to the driver at `now`.
pub fn handle_control(driver: &mut Driver, control: Control, now: Instant) {
    match control {
        Control::Reconfigure(r) => {
            tracing::info!(shares = r.shares.len(), exports = r.exports.len(), users = r.users.len(), "reconfiguring");
            driver.handle_reconfigure(r, now);
        }
    }
}
