//! The durable-handle create contexts of CREATE: DHnQ and DH2Q grants
//! (MS-SMB2 3.3.5.9.6, 3.3.5.9.10), DHnC and DH2C reconnects (3.3.5.9.7,
//! 3.3.5.9.12), the CreateGuid replay check of DH2Q (3.3.5.9) and the
//! resiliency request (FSCTL_LMR_REQUEST_RESILIENCY, 3.3.5.15.9). What a
//! disconnect does to a durable or resilient open is `smb/durable.rs`.

use std::time::Duration;

use super::open_info::network_open_info;
use crate::lease::LeaseVersion;
use crate::smb::conn::{Open, Tree};
use crate::smb::ctx::{Ctx, HandlerResult, ok};
use crate::smb::durable::handle_caching_held;
use crate::smb::durable_opens::{Durable, DurableVersion, Place};
use crate::smb::lock_sequence::LockSequences;
use crate::smb::lease::OPLOCK_LEVEL_LEASE;
use crate::smb::shared::OpenRef;
use crate::smb::status;
use crate::smb::wire::codec::FileId;
use crate::smb::wire::create::{CreateRequest, action, encode_create_response};
use crate::smb::wire::create_context::{
    CreateContext, LeaseContext, LeaseV2, ResponseContext, SMB2_DHANDLE_FLAG_PERSISTENT,
    SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET, encode_create_contexts,
};
use crate::smb::wire::header::FLAG_REPLAY_OPERATION;
use crate::smb::wire::negotiate::{DIALECT_202, DIALECT_300};
use crate::vfs::{FileType, Vfs};

/// What the durable contexts of a CREATE ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    None,
    /// DHnQ.
    V1,
    /// DH2Q: Timeout in milliseconds, Flags, CreateGuid.
    V2 { timeout: u32, flags: u32, create_guid: [u8; 16] },
    /// DHnC (`create_guid` None) or DH2C.
    Reconnect { file_id: FileId, create_guid: Option<[u8; 16]>, flags: u32 },
}

/// Reads the durable contexts and refuses the combinations MS-SMB2 forbids
/// (STATUS_INVALID_PARAMETER). The v2 contexts exist only in SMB 3.x; on
/// 2.x they are ignored.
pub fn request(cx: &Ctx<'_>, contexts: &[CreateContext]) -> Result<Ask, u32> {
    let v3 = cx.conn.dialect >= DIALECT_300;
    let (mut dhnq, mut dhnc, mut dh2q, mut dh2c) = (false, None, None, None);
    for c in contexts {
        match *c {
            CreateContext::DurableRequest => dhnq = true,
            CreateContext::DurableReconnect { file_id } => dhnc = Some(file_id),
            CreateContext::DurableRequestV2 { timeout, flags, create_guid } if v3 => {
                dh2q = Some(Ask::V2 { timeout, flags, create_guid })
            }
            CreateContext::DurableReconnectV2 { file_id, create_guid, flags } if v3 => {
                dh2c = Some((file_id, create_guid, flags))
            }
            _ => {}
        }
    }
    match (dhnq, dhnc, dh2q, dh2c) {
        // 3.3.5.9.7: DHnC ignores DHnQ and refuses the v2 contexts.
        (_, Some(_), Some(_), _) | (_, Some(_), _, Some(_)) => Err(status::INVALID_PARAMETER),
        (_, Some(id), None, None) => Ok(Ask::Reconnect { file_id: file_id(id), create_guid: None, flags: 0 }),
        // 3.3.5.9.12: DH2C with any request context; 3.3.5.9.10: DH2Q with DHnQ.
        (true, _, _, Some(_)) | (_, _, Some(_), Some(_)) | (true, _, Some(_), _) => Err(status::INVALID_PARAMETER),
        (false, None, None, Some((id, create_guid, flags))) => {
            Ok(Ask::Reconnect { file_id: file_id(id), create_guid: Some(create_guid), flags })
        }
        (false, None, Some(v2), None) => Ok(v2),
        (true, None, None, None) => Ok(Ask::V1),
        (false, None, None, None) => Ok(Ask::None),
    }
}

/// The SMB2_FILEID of a reconnect context (16 bytes: always decodes).
fn file_id(b: [u8; 16]) -> FileId {
    FileId::decode(&b, 0).unwrap_or(FileId { persistent: 0, volatile: 0 })
}

/// MS-SMB2 3.3.5.9.10: a DH2Q whose CreateGuid this client already used
/// names an open that exists. Without SMB2_FLAGS_REPLAY_OPERATION that is
/// STATUS_DUPLICATE_OBJECTID; a replay in the open's own session is
/// answered from the open, without opening anything.
pub fn replay(cx: &mut Ctx<'_>, ask: Ask) -> Option<HandlerResult> {
    let Ask::V2 { create_guid, .. } = ask else { return None };
    let (persistent, d) = cx.smb.durable.by_create_guid(cx.conn.client_guid, create_guid)?;
    let here = matches!(d.place, Place::Live { conn, session_id }
        if conn == cx.conn.id && session_id == cx.hdr.session_id);
    let timeout = d.timeout;
    if !here || cx.hdr.flags & FLAG_REPLAY_OPERATION == 0 {
        return Some(Err(status::DUPLICATE_OBJECTID));
    }
    let open = cx.session().ok()?.opens.values().find(|o| o.file_id.persistent == persistent).cloned()?;
    cx.used_file = Some(open.file_id);
    Some(respond(cx, &open, Some(v2_context(timeout))))
}

/// After the open succeeded (MS-SMB2 3.3.5.9.6, 3.3.5.9.10 "Successful
/// Open Initialization"): the open is durable if it holds a batch oplock or
/// a lease with H, and is not a directory. Returns the response context.
pub fn grant(cx: &mut Ctx<'_>, ask: Ask, open: &Open, name: &str) -> Option<ResponseContext> {
    let cfg = &cx.core.config.smb;
    let (version, timeout) = match ask {
        Ask::V1 => (DurableVersion::V1, cfg.durable_timeout),
        Ask::V2 { timeout: 0, create_guid, .. } => (DurableVersion::V2 { create_guid }, cfg.durable_timeout),
        Ask::V2 { timeout, create_guid, .. } => {
            (DurableVersion::V2 { create_guid }, Duration::from_millis(timeout.into()).min(cfg.durable_timeout_max))
        }
        Ask::None | Ask::Reconnect { .. } => return None,
    };
    if open.kind == FileType::Directory || !handle_caching_held(cx.core, open.lease_open) {
        return None;
    }
    let owner = cx.session().ok()?.identity.clone();
    let place = Place::Live { conn: cx.conn.id, session_id: cx.hdr.session_id };
    let client_guid = cx.conn.client_guid;
    let name = name.to_string();
    let d = Durable { version, client_guid, owner, timeout, name, place, lock_sequences: LockSequences::default() };
    cx.smb.durable.insert(open.file_id.persistent, d);
    // The persistent flag is never granted: no share is continuously
    // available (MS-SMB2 3.3.5.9.10 answers without it).
    Some(match version {
        DurableVersion::V2 { .. } => v2_context(timeout),
        _ => ResponseContext::DurableV1,
    })
}

/// FSCTL_LMR_REQUEST_RESILIENCY (MS-SMB2 3.3.5.15.9): the open becomes
/// resilient (Open.IsResilient, no longer Open.IsDurable): it outlives its
/// connection for the Timeout asked (milliseconds; 0: the durable
/// default), whatever its oplock or lease, and its LOCKs are checked for
/// replays (3.3.5.14). A Timeout above the longest durable one is
/// STATUS_INVALID_PARAMETER (MaxResiliencyTimeout).
pub fn request_resiliency(cx: &mut Ctx<'_>, file_id: FileId, input: &[u8]) -> Result<FileId, u32> {
    if cx.conn.dialect == DIALECT_202 {
        return Err(status::INVALID_DEVICE_REQUEST);
    }
    let open = cx.open(file_id)?.clone();
    let Some(t) = input.get(..4) else { return Err(status::INVALID_PARAMETER) };
    if input.len() < 8 {
        return Err(status::INVALID_PARAMETER);
    }
    let asked = Duration::from_millis(u32::from_le_bytes([t[0], t[1], t[2], t[3]]).into());
    let cfg = &cx.core.config.smb;
    if asked > cfg.durable_timeout_max {
        return Err(status::INVALID_PARAMETER);
    }
    if open.kind == FileType::Directory {
        return Err(status::INVALID_PARAMETER);
    }
    let timeout = if asked.is_zero() { cfg.durable_timeout } else { asked };
    let owner = cx.session()?.identity.clone();
    let persistent = open.file_id.persistent;
    // A durable open keeps its lock sequences (and its name) as it turns
    // resilient.
    let (name, lock_sequences) = match cx.smb.durable.get(persistent) {
        Some(d) => (d.name.clone(), d.lock_sequences),
        None => (String::new(), LockSequences::default()),
    };
    let place = Place::Live { conn: cx.conn.id, session_id: cx.hdr.session_id };
    let client_guid = cx.conn.client_guid;
    let version = DurableVersion::Resilient;
    cx.smb.durable.insert(persistent, Durable { version, client_guid, owner, timeout, name, place, lock_sequences });
    tracing::debug!(persistent, ?timeout, "open made resilient");
    Ok(open.file_id)
}

fn v2_context(timeout: Duration) -> ResponseContext {
    ResponseContext::DurableV2 { timeout: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX), flags: 0 }
}

/// MS-SMB2 3.3.5.9.7 (DHnC) and 3.3.5.9.12 (DH2C): the holder of a
/// preserved durable open takes it back on this session and tree. Only the
/// name, the durable context and the lease key count; the rest of the
/// request is ignored. Every failure to find the open is
/// STATUS_OBJECT_NAME_NOT_FOUND.
pub fn reconnect(
    cx: &mut Ctx<'_>,
    req: &CreateRequest,
    contexts: &[CreateContext],
    tree: &Tree,
    ask: Ask,
) -> HandlerResult {
    let Ask::Reconnect { file_id, create_guid, flags } = ask else { return Err(status::INTERNAL_ERROR) };
    let persistent = file_id.persistent;
    let user = cx.session()?.identity.clone();
    let d = cx.smb.durable.get(persistent).ok_or(status::OBJECT_NAME_NOT_FOUND)?;
    let Place::Preserved(open) = &d.place else { return Err(status::OBJECT_NAME_NOT_FOUND) };
    if tree.is_ipc() {
        return Err(status::OBJECT_NAME_NOT_FOUND);
    }
    // A v1 open's CreateGuid is empty: a DH2C naming it carries zeros.
    if create_guid.is_some_and(|g| g != d.version.create_guid()) {
        return Err(status::OBJECT_NAME_NOT_FOUND);
    }
    let lease_req = contexts.iter().find_map(|c| match c {
        CreateContext::Lease(l) => Some(*l),
        _ => None,
    });
    match cx.core.leases.lease_of(open.lease_open) {
        Some(owner) => {
            let info = cx.core.leases.lease_info(owner.client_guid, owner.key).ok_or(status::OBJECT_NAME_NOT_FOUND)?;
            let l = lease_req.ok_or(status::OBJECT_NAME_NOT_FOUND)?;
            let same_version = matches!((info.version, l.v2), (LeaseVersion::V1, None) | (LeaseVersion::V2, Some(_)));
            if owner.client_guid.0 != cx.conn.client_guid || owner.key.0 != l.key || !same_version {
                return Err(status::OBJECT_NAME_NOT_FOUND);
            }
            // A resilient open has no name to check (its request names none).
            if !open.delete_on_close && d.version != DurableVersion::Resilient && !same_name(&d.name, &req.name) {
                return Err(status::INVALID_PARAMETER);
            }
        }
        None if lease_req.is_some() => return Err(status::OBJECT_NAME_NOT_FOUND),
        None => {}
    }
    // Never persistent (no continuously available share).
    if flags & SMB2_DHANDLE_FLAG_PERSISTENT != 0 {
        return Err(status::INVALID_PARAMETER);
    }
    if d.owner != user {
        return Err(status::ACCESS_DENIED);
    }
    if cx.session()?.opens.len() >= cx.core.config.limits.max_opens_per_session {
        return Err(status::INSUFFICIENT_RESOURCES);
    }
    let Some(mut d) = cx.smb.durable.forget(persistent) else { return Err(status::OBJECT_NAME_NOT_FOUND) };
    let Place::Preserved(open) = d.place else { return Err(status::OBJECT_NAME_NOT_FOUND) };
    let mut open = *open;
    // A stream goes with its file: one removed (or renamed over) by NFS
    // meanwhile leaves nothing to take back (the randomized simulation
    // found it).
    if cx.core.vfs.getattr(open.object).is_err() {
        cx.core.leases.restore(open.lease_open, cx.conn.id);
        crate::smb::release::release_open(cx.core, cx.smb, open, cx.now);
        return Err(status::OBJECT_NAME_NOT_FOUND);
    }
    cx.core.leases.restore(open.lease_open, cx.conn.id);
    // A new FileId.Volatile in this session; the persistent part stays.
    open.file_id.volatile = cx.smb.new_volatile();
    open.tree_id = tree.id;
    let (conn, session_id) = (cx.conn.id, cx.hdr.session_id);
    cx.smb.open_refs.insert(open.lease_open, OpenRef { conn, file_id: open.file_id, session_id });
    d.place = Place::Live { conn, session_id };
    cx.smb.durable.insert(persistent, d);
    cx.session()?.opens.insert(open.file_id.volatile, open.clone());
    cx.used_file = Some(open.file_id);
    tracing::debug!(persistent, "durable open reconnected");
    cx.core.stats.durable_reconnected += 1;
    // No durable response context: smbtorture checks that neither Windows
    // nor Samba sends one on a reconnect (3.3.5.9.7 leaves it optional).
    respond(cx, &open, None)
}

/// Lease.FileName against the name of the reconnect (case-insensitive, as
/// names are).
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim_start_matches('\\').to_lowercase();
    norm(a) == norm(b)
}

/// The CREATE response for an open that already exists (reconnect,
/// replay): its current caching and attributes, "opened".
fn respond(cx: &mut Ctx<'_>, open: &Open, durable: Option<ResponseContext>) -> HandlerResult {
    let attr = cx.smb.with_allocation(cx.core.vfs.getattr(open.object).map_err(|e| status::from_vfs(&e))?);
    let mut ctx = Vec::new();
    let level = match cx.core.leases.lease_of(open.lease_open) {
        Some(owner) => {
            let info = cx.core.leases.lease_info(owner.client_guid, owner.key).ok_or(status::INTERNAL_ERROR)?;
            let v2 = match info.version {
                LeaseVersion::V1 => None,
                LeaseVersion::V2 => Some(LeaseV2 { parent_key: info.parent_key.unwrap_or_default(), epoch: info.epoch }),
            };
            let flags = if info.parent_key.is_some() { SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET } else { 0 };
            let l = LeaseContext { key: owner.key.0, state: info.state.bits(), flags, duration: 0, v2 };
            ctx.push(ResponseContext::Lease(l));
            OPLOCK_LEVEL_LEASE
        }
        None => cx.core.leases.oplock_level(open.lease_open).to_wire(),
    };
    ctx.extend(durable);
    let mut ctx_bytes = Vec::new();
    encode_create_contexts(&ctx, &mut ctx_bytes);
    ok(encode_create_response(level, action::OPENED, &network_open_info(&attr), open.file_id, &ctx_bytes))
}
