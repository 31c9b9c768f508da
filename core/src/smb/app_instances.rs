//! The opens that carry an AppInstanceId (MS-SMB2 3.3.5.9.13,
//! Open.AppInstanceId), and the closes of another connection's opens a
//! CREATE of the same instance asks for; what is done with them is
//! `smb/app_instance.rs`.

use std::collections::BTreeMap;

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
    /// The open in the lease table (its AppInstanceId entry).
    pub open: OpenId,
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

