//! READ, WRITE, FLUSH (MS-SMB2 3.3.5.11-3.3.5.13); LOCK is in lock.rs.

use crate::lease::Operation;
use crate::lease::access::*;
use crate::smb::ctx::{Ctx, HandlerResult, ok};
use crate::smb::lease;
use crate::smb::pipe::handlers as pipe;
use crate::smb::status;
use crate::smb::wire::read_write::*;
use crate::smb::wire::session_setup::encode_empty_response;
use crate::vfs::FileType;
use crate::vfs::Vfs;

/// Bytes one credit pays for (MS-SMB2 3.3.5.2.5).
const CREDIT_BYTES: u64 = 65_536;

/// MS-SMB2 3.3.5.2.5: with LARGE_MTU a request of `len` bytes must be charged
/// ceil(len / 64 KiB) credits.
fn check_charge(cx: &Ctx<'_>, len: u64) -> Result<(), u32> {
    if cx.conn.large_mtu() && cx.async_id.is_none() {
        let needed = len.div_ceil(CREDIT_BYTES).max(1);
        if u64::from(cx.hdr.credit_charge.max(1)) < needed {
            return Err(status::INVALID_PARAMETER);
        }
    }
    Ok(())
}

pub fn read(cx: &mut Ctx<'_>) -> HandlerResult {
    let req = ReadRequest::decode(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    check_charge(cx, u64::from(req.length))?;
    if req.length > cx.core.config.smb.max_read_size.max(1024 * 1024) {
        return Err(status::INVALID_PARAMETER);
    }
    if let Some(fid) = pipe::lookup(cx, req.file_id) {
        return pipe::read(cx, fid, req.length);
    }
    let open = cx.open(req.file_id)?;
    if open.kind == FileType::Directory {
        return Err(status::INVALID_DEVICE_REQUEST);
    }
    if open.access & (FILE_READ_DATA | FILE_EXECUTE) == 0 {
        return Err(status::ACCESS_DENIED);
    }
    let open = open.clone();
    lease::before_io(cx, &open, Operation::Read, req.offset, u64::from(req.length))?;
    let object = open.object;
    if req.length == 0 && req.minimum_count == 0 {
        // A zero-length read succeeds wherever it is aimed (Windows, Samba).
        return ok(encode_read_response(&[]));
    }
    let (data, _eof) = cx.core.vfs.read(object, req.offset, req.length).map_err(|e| status::from_vfs(&e))?;
    if data.is_empty() || (data.len() as u64) < u64::from(req.minimum_count) {
        return Err(status::END_OF_FILE);
    }
    if let Ok(o) = cx.open(req.file_id) {
        o.position = req.offset + data.len() as u64;
    }
    ok(encode_read_response(&data))
}

pub fn write(cx: &mut Ctx<'_>) -> HandlerResult {
    let msg = cx.msg.clone();
    let req = WriteRequest::decode(&msg).map_err(|_| status::INVALID_PARAMETER)?;
    check_charge(cx, req.data.len() as u64)?;
    if let Some(fid) = pipe::lookup(cx, req.file_id) {
        return pipe::write(cx, fid, req.data);
    }
    let open = cx.open(req.file_id)?;
    if open.kind == FileType::Directory {
        return Err(status::INVALID_DEVICE_REQUEST);
    }
    if open.access & (FILE_WRITE_DATA | FILE_APPEND_DATA) == 0 {
        return Err(status::ACCESS_DENIED);
    }
    let open = open.clone();
    let object = open.object;
    let now = cx.wall();
    // An offset of all ones appends (MS-FSA 2.1.5.3).
    let offset = match req.offset {
        u64::MAX => cx.core.vfs.getattr(object).map_err(|e| status::from_vfs(&e))?.size,
        o => o,
    };
    if offset.checked_add(req.data.len() as u64).is_none_or(|end| end > i64::MAX as u64) {
        return Err(status::INVALID_PARAMETER);
    }
    lease::before_io(cx, &open, Operation::Write, offset, req.data.len() as u64)?;
    cx.core.vfs.write(object, offset, req.data, now).map_err(|e| status::from_vfs(&e))?;
    if let Ok(o) = cx.open(req.file_id) {
        o.position = offset + req.data.len() as u64;
    }
    ok(encode_write_response(req.data.len() as u32))
}

pub fn flush(cx: &mut Ctx<'_>) -> HandlerResult {
    let fid = decode_flush(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    let open = cx.open(fid)?;
    if open.access & (FILE_WRITE_DATA | FILE_APPEND_DATA) == 0 {
        return Err(status::ACCESS_DENIED);
    }
    let open = open.clone();
    lease::before_io(cx, &open, Operation::Flush, 0, 0)?;
    let object = open.object;
    cx.core.vfs.sync(object).map_err(|e| status::from_vfs(&e))?;
    ok(encode_empty_response())
}
