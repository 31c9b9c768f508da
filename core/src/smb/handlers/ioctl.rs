//! IOCTL (MS-SMB2 3.3.5.15): VALIDATE_NEGOTIATE_INFO,
//! QUERY_NETWORK_INTERFACE_INFO,
//! LMR_REQUEST_RESILIENCY, server-side copy (copychunk.rs), sparse files
//! (sparse.rs), compression (compression.rs); everything else is refused with the status
//! clients handle best.

use crate::smb::ctx::{Ctx, HandlerResult, Outcome, ok_with};
use crate::smb::handlers::negotiate::DIALECTS;
use crate::smb::pipe::handlers as pipe;
use crate::smb::status;
use crate::smb::wire::codec::FileId;
use crate::smb::wire::copychunk::{FSCTL_SRV_COPYCHUNK, FSCTL_SRV_COPYCHUNK_WRITE, FSCTL_SRV_REQUEST_RESUME_KEY};
use crate::smb::wire::ioctl::*;
use crate::smb::wire::network_interface::encode_network_interfaces;
use crate::smb::wire::sparse;

use super::{compression, copychunk};

pub fn ioctl(cx: &mut Ctx<'_>) -> HandlerResult {
    let msg = cx.msg.clone();
    let req = IoctlRequest::decode(&msg).map_err(|_| status::INVALID_PARAMETER)?;
    if req.ctl_code == FSCTL_VALIDATE_NEGOTIATE_INFO {
        return validate_negotiate(cx, &req);
    }
    cx.tree()?;
    if req.flags & IOCTL_IS_FSCTL == 0 {
        return Err(status::NOT_SUPPORTED);
    }
    match req.ctl_code {
        // Not a DFS server: clients then use the path as it is.
        FSCTL_DFS_GET_REFERRALS | FSCTL_DFS_GET_REFERRALS_EX => Err(status::NOT_FOUND),
        FSCTL_QUERY_NETWORK_INTERFACE_INFO => network_interfaces(cx, &req),
        compression::FSCTL_GET_COMPRESSION => compression::get(cx, &req),
        compression::FSCTL_SET_COMPRESSION => compression::set(cx, &req),
        FSCTL_SRV_REQUEST_RESUME_KEY => copychunk::request_resume_key(cx, &req),
        sparse::FSCTL_SET_SPARSE => super::sparse::set_sparse(cx, &req),
        sparse::FSCTL_SET_ZERO_DATA => super::sparse::zero_data(cx, &req),
        sparse::FSCTL_QUERY_ALLOCATED_RANGES => super::sparse::query_allocated_ranges(cx, &req),
        FSCTL_SRV_COPYCHUNK | FSCTL_SRV_COPYCHUNK_WRITE => copychunk::copychunk(cx, &req),
        FSCTL_LMR_REQUEST_RESILIENCY => {
            let fid = super::durable::request_resiliency(cx, req.file_id, req.input)?;
            ok_with(|b| encode_ioctl_response(FSCTL_LMR_REQUEST_RESILIENCY, fid, &[], b))
        }
        pipe::FSCTL_PIPE_TRANSCEIVE => match pipe::lookup(cx, req.file_id) {
            Some(fid) => pipe::transceive(cx, fid, req.input, req.max_output),
            None => {
                cx.open(req.file_id)?;
                Err(status::INVALID_DEVICE_REQUEST)
            }
        },
        _ => {
            if req.file_id != FileId::RELATED || cx.chain_file.is_some() {
                cx.open(req.file_id)?;
            }
            Err(status::NOT_SUPPORTED)
        }
    }
}

/// MS-SMB2 3.3.5.15.11: the interfaces the adapter told the core of
/// ([`crate::config::SmbConfig::interfaces`]), on a 3.x connection that
/// was offered multichannel; NOT_SUPPORTED otherwise.
fn network_interfaces(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    let multichannel = cx.conn.server_capabilities & crate::smb::wire::negotiate::CAP_MULTI_CHANNEL != 0;
    let out = encode_network_interfaces(&cx.core.config.smb.interfaces);
    if !multichannel || out.is_empty() {
        return Err(status::NOT_SUPPORTED);
    }
    // It names no open: any other FileId is invalid (not FILE_CLOSED), as
    // smbd and Windows answer (smbtorture smb2.ioctl.bug14788).
    if req.file_id != FileId::RELATED {
        return Err(status::INVALID_PARAMETER);
    }
    if (req.max_output as usize) < out.len() {
        return Err(status::BUFFER_TOO_SMALL);
    }
    ok_with(|b| encode_ioctl_response(FSCTL_QUERY_NETWORK_INTERFACE_INFO, FileId::RELATED, &out, b))
}

/// MS-SMB2 3.3.5.15.12: any mismatch with what was negotiated drops the
/// connection.
fn validate_negotiate(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    cx.session()?;
    let conn = &*cx.conn;
    if conn.dialect == crate::smb::wire::negotiate::DIALECT_311 || req.max_output < 24 {
        return Ok(Outcome::Disconnect);
    }
    let Ok(v) = ValidateNegotiateInfo::decode(req.input) else { return Ok(Outcome::Disconnect) };
    let best = DIALECTS.iter().copied().find(|d| v.dialects.contains(d));
    let mismatch = v.dialects != conn.client_dialects
        || best != Some(conn.dialect)
        || v.guid != conn.client_guid
        || v.security_mode != conn.client_security_mode
        || v.capabilities != conn.client_capabilities;
    if mismatch {
        tracing::info!(conn = conn.id.0, "VALIDATE_NEGOTIATE_INFO mismatch; disconnecting");
        return Ok(Outcome::Disconnect);
    }
    let out = encode_validate_negotiate_response(
        conn.server_capabilities,
        &cx.smb.server_guid,
        conn.server_security_mode,
        conn.dialect,
    );
    ok_with(|b| encode_ioctl_response(FSCTL_VALIDATE_NEGOTIATE_INFO, FileId::RELATED, &out, b))
}
