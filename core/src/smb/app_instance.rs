//! Application instances (MS-SMB2 3.3.5.9.13, Open.AppInstanceId): an
//! application that moves to another client (a failover) opens its files
//! again with the same AppInstanceId; the server closes the old opens of
//! that instance (3.3.4.17) instead of breaking their caching.
//!
//! The old open lives on another connection: one preserved (its client
//! gone, `smb/durable.rs`) is closed at once; a live one is closed by the
//! settle loop ([`SmbShared::take_forced_closes`]), the CREATE parked until
//! then and run again.

use std::collections::BTreeMap;
use std::time::Instant;

use super::SmbShared;
use super::conn::SmbConnection;
use super::durable_opens::Place;
use crate::common::Core;
use crate::id::{ConnId, WaitToken};
use crate::lease::OpenId;

/// SMB2_CREATE_APP_INSTANCE_ID (MS-SMB2 2.2.13.2), as on the wire.
pub const APP_INSTANCE_ID: [u8; 16] =
    [0x45, 0xBC, 0xA6, 0x6A, 0xEF, 0xA7, 0xF7, 0x4A, 0x90, 0x08, 0xFA, 0x46, 0x2E, 0x14, 0x4D, 0x74];

/// What an open with an AppInstanceId is matched on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInstance {
    pub id: [u8; 16],
    /// Open.PathName, normalized (no leading backslash, lower case).
    pub path: String,
    /// Open.TreeConnect.Share.
    pub share: usize,
    /// Open.Session.Connection.ClientGuid.
    pub client_guid: [u8; 16],
    /// FileId.Persistent of the open.
    pub persistent: u64,
}

/// A live open on another connection to close (3.3.4.17), and the CREATE
/// to run again once it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForcedClose {
    pub conn: ConnId,
    pub session_id: u64,
    pub volatile: u64,
    pub then: WaitToken,
}

/// The opens that carry an AppInstanceId, by their lease-table open.
#[derive(Debug, Default)]
pub struct AppInstances {
    opens: BTreeMap<OpenId, AppInstance>,
}

impl AppInstances {
    pub fn insert(&mut self, open: OpenId, a: AppInstance) {
        self.opens.insert(open, a);
    }

    pub fn remove(&mut self, open: OpenId) {
        self.opens.remove(&open);
    }

    /// 3.3.5.9.13: the opens of instance `id` on `path` in `share` made by
    /// another client than `client_guid`.
    pub fn others(&self, id: [u8; 16], path: &str, share: usize, client_guid: [u8; 16]) -> Vec<(OpenId, u64)> {
        let path = normalize(path);
        self.opens
            .iter()
            .filter(|(_, a)| a.id == id && a.path == path && a.share == share && a.client_guid != client_guid)
            .map(|(o, a)| (*o, a.persistent))
            .collect()
    }
}

/// Path names compare case-insensitively, with or without a leading
/// backslash.
pub fn normalize(path: &str) -> String {
    path.trim_start_matches('\\').to_lowercase()
}

/// The AppInstanceId context of a CREATE (StructureSize 20, Reserved,
/// AppInstanceId), if any; a malformed one is STATUS_INVALID_PARAMETER.
pub fn requested(contexts: &[crate::smb::wire::create_context::CreateContext]) -> Result<Option<[u8; 16]>, u32> {
    use crate::smb::wire::create_context::CreateContext;
    for c in contexts {
        if let CreateContext::Unknown { name, data } = c
            && name.as_ref() == APP_INSTANCE_ID
        {
            let ok = data.len() == 20 && u16::from_le_bytes([data[0], data[1]]) == 20;
            let id: [u8; 16] = match (ok, data.get(4..20)) {
                (true, Some(b)) => b.try_into().map_err(|_| crate::smb::status::INVALID_PARAMETER)?,
                _ => return Err(crate::smb::status::INVALID_PARAMETER),
            };
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Closes the old opens of the instance: a preserved one at once; for a
/// live one, queues its close for the settle loop and answers `true`: the
/// CREATE waits (`then`) and runs again.
pub fn close_others(
    core: &mut Core,
    smb: &mut SmbShared,
    others: &[(OpenId, u64)],
    then: WaitToken,
    now: Instant,
) -> bool {
    let mut wait = false;
    for &(open, persistent) in others {
        let preserved = smb.durable.get(persistent).is_some_and(|d| matches!(d.place, Place::Preserved(_)));
        if preserved {
            if let Some(d) = smb.durable.forget(persistent)
                && let Place::Preserved(o) = d.place
            {
                tracing::debug!(persistent, "app instance: preserved open closed");
                crate::smb::release::release_open(core, smb, *o, now);
            }
            continue;
        }
        if let Some(r) = smb.open_refs.get(&open).copied() {
            smb.forced_closes.push(ForcedClose {
                conn: r.conn,
                session_id: r.session_id,
                volatile: r.file_id.volatile,
                then,
            });
            wait = true;
        }
    }
    wait
}

/// The settle loop's half of [`close_others`]: closes the open on its
/// connection (3.3.4.17), as a CLOSE would, without a response.
pub fn force_close(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, f: ForcedClose, now: Instant) {
    let Some(open) = conn.sessions.get_mut(&f.session_id).and_then(|s| s.opens.remove(&f.volatile)) else { return };
    tracing::debug!(conn = conn.id.0, volatile = f.volatile, "app instance: open closed");
    let waiting = crate::smb::change_notify::open_closed(smb, open.file_id.volatile);
    crate::smb::release::release_open(core, smb, open, now);
    for op in waiting {
        crate::smb::send::complete_pending(core, conn, op, crate::smb::status::NOTIFY_CLEANUP);
    }
}
