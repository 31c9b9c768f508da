//! An NFS connection and its parked calls, for [`crate::snapshot`].

use super::conn::NfsConnection;
use crate::common::Core;
use crate::id::WaitToken;
use crate::lease::HolderId;
use crate::snapshot::{NfsClientView, ParkedView, WaitView, caching_letters};
use crate::stats::NFS3_PROCEDURES;


/// `conn` as a client, and its parked calls with what each waits for.
pub fn views(core: &Core, conn: &NfsConnection) -> (NfsClientView, Vec<ParkedView>) {
    let client = NfsClientView { conn: conn.id.0, client: conn.peer, parked: conn.parked.len() };
    let parked = conn
        .parked
        .iter()
        .map(|(op, call)| {
            let waits = core.leases.waits_of(WaitToken { conn: conn.id, op: *op }).unwrap_or_default();
            ParkedView {
                conn: conn.id.0,
                client: conn.peer,
                xid: call.xid,
                procedure: NFS3_PROCEDURES.get(call.args.proc_no() as usize).unwrap_or(&"?").to_string(),
                waits_on: waits
                    .into_iter()
                    .map(|(holder, holds, lose, breaking)| WaitView {
                        holder: match holder {
                            HolderId::Lease(o) => {
                                format!("lease {}", o.key.0.iter().map(|b| format!("{b:02x}")).collect::<String>())
                            }
                            HolderId::Oplock(id) => format!("oplock {}", id.0),
                        },
                        holds: caching_letters(holds.bits()),
                        must_lose: caching_letters(lose.bits()),
                        breaking,
                    })
                    .collect(),
            }
        })
        .collect();
    (client, parked)
}
