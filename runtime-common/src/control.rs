//! What the embedding program asks of a running server besides serving
//! (an administrator's reload, reading its status and counters), the same for every
//! runtime: the adapter
//! takes [`Control`] commands on a channel of its own and hands each to
//! [`handle_control`] in the loop that feeds the core, so a reload is a core
//! input like any other (recorded, and ordered with the rest) and a read
//! sees the core between two inputs.

use std::time::Instant;

use polyshare_core::config::Reconfigure;
use polyshare_core::{Driver, Server};

/// A read of the server's state (`Server::snapshot`, `Server::stats`):
/// called once, on the core task, between two inputs. It gets the server
/// shared, so it cannot change it: not an input, not recorded.
pub struct Inspect(pub Box<dyn FnOnce(&Server) + Send>);

impl std::fmt::Debug for Inspect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inspect(..)")
    }
}

/// A command for the core task.
#[derive(Debug)]
pub enum Control {
    /// New shares, exports and accounts
    /// ([`Driver::handle_reconfigure`]).
    Reconfigure(Reconfigure),
    /// Read the server's state.
    Inspect(Inspect),
}

/// Feeds `control` to the driver at `now`.
pub fn handle_control(driver: &mut Driver, control: Control, now: Instant) {
    match control {
        Control::Reconfigure(r) => {
            tracing::info!(shares = r.shares.len(), exports = r.exports.len(), users = r.users.len(), "reconfiguring");
            driver.handle_reconfigure(r, now);
        }
        Control::Inspect(read) => (read.0)(driver.server()),
    }
}
