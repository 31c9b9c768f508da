//! The SMB side of leases and oplocks (MS-SMB2 3.3.5.9.8, 3.3.5.9.11,
//! 3.3.5.22): the lease context of a CREATE mapped onto the
//! protocol-neutral lease table, the breaks an SMB operation causes, and the
//! parking of requests that must wait for a break (they return
//! `Err(status::PENDING)`, which the dispatcher turns into an interim
//! response; the request is re-run from scratch when the table wakes it).

use super::conn::Open;
use super::ctx::Ctx;
use super::shared::OpenRef;
use super::status;
use super::wire::codec::FileId;
use super::wire::create::CreateRequest;
use super::wire::create_context::{
    CreateContext, LeaseContext, LeaseV2, ResponseContext, SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET, decode_create_contexts,
};
use super::wire::negotiate::{CAP_DIRECTORY_LEASING, DIALECT_210, DIALECT_300};
use crate::id::WaitToken;
use crate::lease::{
    Caller, ClientGuid, Decision, FileKey, Grant, GrantError, GrantRequest, LeaseKey, LeaseState, LeaseVersion, OpenId,
    Operation, OplockLevel,
};
use crate::vfs::ObjectId;

/// RequestedOplockLevel / OplockLevel SMB2_OPLOCK_LEVEL_LEASE (MS-SMB2 2.2.13).
pub const OPLOCK_LEVEL_LEASE: u8 = 0xFF;

/// MS-ERREF 2.3.1 statuses of byte-range locking.
pub const FILE_LOCK_CONFLICT: u32 = 0xC000_0054;
pub const LOCK_NOT_GRANTED: u32 = 0xC000_0055;
pub const RANGE_NOT_LOCKED: u32 = 0xC000_007E;
pub const INVALID_LOCK_RANGE: u32 = 0xC000_01A1;

/// The caching a CREATE asks for (MS-SMB2 3.3.5.9): RqLs is honoured only
/// with RequestedOplockLevel LEASE on 2.1 and later (v2 only on 3.x);
/// LEASE without a usable RqLs gets nothing.
pub fn requested(cx: &Ctx<'_>, req: &CreateRequest, is_directory: bool) -> GrantRequest {
    match lease_request(cx, req, is_directory) {
        // None on directories unless this connection was offered directory
        // leasing (3.x, asked for by the client; answered OplockLevel NONE
        // without a lease context, as Windows does).
        GrantRequest::Lease { .. }
            if is_directory
                && (!cx.core.leases.directory_leasing || cx.conn.server_capabilities & CAP_DIRECTORY_LEASING == 0) =>
        {
            GrantRequest::None
        }
        r => r,
    }
}

/// [`requested`] before the directory rule: the key is still checked.
fn lease_request(cx: &Ctx<'_>, req: &CreateRequest, is_directory: bool) -> GrantRequest {
    if req.oplock_level != OPLOCK_LEVEL_LEASE {
        return match OplockLevel::from_wire(req.oplock_level) {
            Some(OplockLevel::None) | None => GrantRequest::None,
            Some(level) => GrantRequest::Oplock(level),
        };
    }
    if cx.conn.dialect < DIALECT_210 {
        return GrantRequest::None;
    }
    let Ok(contexts) = decode_create_contexts(&req.contexts) else { return GrantRequest::None };
    let Some(l) = contexts.iter().find_map(|c| match c {
        CreateContext::Lease(l) => Some(*l),
        _ => None,
    }) else {
        return GrantRequest::None;
    };
    let (version, epoch, parent_key) = match l.v2 {
        None => (LeaseVersion::V1, 0, None),
        Some(_) if cx.conn.dialect < DIALECT_300 => return GrantRequest::None,
        Some(v2) => {
            let parent = (l.flags & SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET != 0).then_some(v2.parent_key);
            (LeaseVersion::V2, v2.epoch, parent)
        }
    };
    GrantRequest::Lease {
        client_guid: ClientGuid(cx.conn.client_guid),
        key: LeaseKey(l.key),
        requested: LeaseState::from_bits(l.state),
        version,
        epoch,
        parent_key,
        is_directory,
    }
}

/// Whose caching an open made by `request` must not break.
fn caller_of(request: GrantRequest) -> Caller {
    match request {
        GrantRequest::Lease { client_guid, key, .. } => Caller::Lease(client_guid, key),
        // An oplock belongs to the open, which does not exist yet.
        _ => Caller::Nobody,
    }
}

/// Plans the breaks of `op` on `file`; parks the request when it must wait.
pub fn begin(cx: &mut Ctx<'_>, file: FileKey, op: Operation, caller: Caller) -> Result<(), u32> {
    let token = WaitToken { conn: cx.conn.id, op: cx.op_id() };
    let core = &mut *cx.core;
    match core.leases.begin(file, op, caller, token, cx.now) {
        Decision::Proceed => Ok(()),
        Decision::Wait => {
            tracing::debug!(conn = cx.conn.id.0, op = token.op, ?op, "parked until breaks resolve");
            Err(status::PENDING)
        }
    }
}

/// A new open of `file` waits (goes async) while writes to it are still on
/// their way to storage: caching granted now would cover data the client
/// has not seen, and an overwrite would race them.
pub fn after_writes(cx: &mut Ctx<'_>, file: ObjectId) -> Result<(), u32> {
    if !cx.core.io.writes_outstanding(file) {
        return Ok(());
    }
    let token = WaitToken { conn: cx.conn.id, op: cx.op_id() };
    cx.core.io.wait_for_writes(file, token);
    Err(status::PENDING)
}

/// An operation through an existing open: its own lease or oplock never
/// breaks.
pub fn begin_on(cx: &mut Ctx<'_>, open: &Open, op: Operation) -> Result<(), u32> {
    begin(cx, open.object, op, Caller::Open(open.lease_open))
}

/// CREATE of an existing `file`, before its share-mode check: a lease key
/// in use on another file is STATUS_INVALID_PARAMETER; then the breaks of an
/// open (MS-FSA 2.1.5.1.2).
pub fn before_open(
    cx: &mut Ctx<'_>,
    req: &CreateRequest,
    file: FileKey,
    access: u32,
    truncate: bool,
) -> Result<(), u32> {
    let request = requested(cx, req, false);
    check_key(cx, request, file)?;
    let op = Operation::Open { access, share: req.share_access, truncate };
    begin(cx, file, op, caller_of(request))
}

/// CREATE about to make a new file or stream: a lease key already in use
/// (necessarily on another file) is refused before anything is created.
pub fn before_create(cx: &Ctx<'_>, req: &CreateRequest) -> Result<(), u32> {
    match lease_request(cx, req, false) {
        GrantRequest::Lease { client_guid, key, .. } if cx.core.leases.lease_info(client_guid, key).is_some() => {
            Err(status::INVALID_PARAMETER)
        }
        _ => Ok(()),
    }
}

fn check_key(cx: &Ctx<'_>, request: GrantRequest, file: FileKey) -> Result<(), u32> {
    if let GrantRequest::Lease { client_guid, key, .. } = request
        && cx.core.leases.lease_info(client_guid, key).is_some_and(|i| i.file != file)
    {
        return Err(status::INVALID_PARAMETER);
    }
    Ok(())
}

/// Grants the caching of a new open and records where the open lives.
/// Returns the OplockLevel of the response and its lease context.
pub fn grant(
    cx: &mut Ctx<'_>,
    req: &CreateRequest,
    file: FileKey,
    open: OpenId,
    is_directory: bool,
    file_id: FileId,
) -> Result<(u8, Option<ResponseContext>), u32> {
    check_key(cx, lease_request(cx, req, is_directory), file)?;
    let request = requested(cx, req, is_directory);
    let r = OpenRef { conn: cx.conn.id, file_id, session_id: cx.hdr.session_id };
    cx.smb.open_refs.insert(open, r);
    let g = cx.core.leases.grant(file, open, request, cx.now).map_err(|e| match e {
        GrantError::InvalidParameter => status::INVALID_PARAMETER,
        GrantError::UnknownOpen => status::INTERNAL_ERROR,
    })?;
    Ok(match (g, request) {
        (Grant::None, _) => (OplockLevel::WIRE_NONE, None),
        (Grant::Oplock(level), _) => (level.to_wire(), None),
        (Grant::Lease { state, epoch, flags, version, parent_key }, GrantRequest::Lease { key, .. }) => {
            let v2 = match version {
                LeaseVersion::V1 => None,
                LeaseVersion::V2 => Some(LeaseV2 { parent_key: parent_key.unwrap_or_default(), epoch }),
            };
            let ctx = LeaseContext { key: key.0, state: state.bits(), flags, duration: 0, v2 };
            (OPLOCK_LEVEL_LEASE, Some(ResponseContext::Lease(ctx)))
        }
        (Grant::Lease { .. }, _) => (OplockLevel::WIRE_NONE, None),
    })
}

/// READ, WRITE (and FLUSH with `len` 0): the breaks, then the byte-range
/// lock check (MS-FSA 2.1.4.11).
pub fn before_io(cx: &mut Ctx<'_>, open: &Open, op: Operation, offset: u64, len: u64) -> Result<(), u32> {
    begin_on(cx, open, op)?;
    if len == 0 {
        return Ok(());
    }
    let write = op == Operation::Write;
    cx.core.leases.check_io(open.object, open.lease_open, offset, len, write).map_err(|_| FILE_LOCK_CONFLICT)
}

/// Whose directory lease a new child made by `req` must not break: the
/// ParentLeaseKey of its v2 lease context (MS-FSA 2.1.4.12.2, PARENT_OBJECT).
fn parent_caller(cx: &Ctx<'_>, req: &CreateRequest) -> Caller {
    match lease_request(cx, req, false) {
        GrantRequest::Lease { client_guid, parent_key: Some(p), .. } => Caller::Parent(client_guid, LeaseKey(p)),
        _ => Caller::Nobody,
    }
}

/// CREATE about to add a name to `dir`, or to overwrite a child of it:
/// breaks the directory's leases but the one the request names as its
/// parent; parks the request when it must wait (docs/LEASES.md "Directory
/// leases").
pub fn before_child_created(cx: &mut Ctx<'_>, req: &CreateRequest, dir: FileKey) -> Result<(), u32> {
    let caller = parent_caller(cx, req);
    begin(cx, dir, Operation::ChildChange, caller)
}

/// An operation through `open` about to change its entry in its directory
/// (attributes, times, size, a rename away): breaks that directory's
/// leases but the one the open's lease names as its parent.
pub fn before_child_changed(cx: &mut Ctx<'_>, open: &Open) -> Result<(), u32> {
    match cx.smb.files.get(&open.object).filter(|f| !f.is_stream && !f.name.is_empty()).map(|f| f.parent) {
        Some(dir) => begin(cx, dir, Operation::ChildChange, Caller::Open(open.lease_open)),
        None => Ok(()),
    }
}
