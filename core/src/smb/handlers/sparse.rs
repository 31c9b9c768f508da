//! Sparse files (MS-FSA 2.1.5.10.22, 2.1.5.10.38, 2.1.5.10.39):
//! FSCTL_SET_SPARSE keeps FILE_ATTRIBUTE_SPARSE_FILE with the other DOS
//! attributes; FSCTL_SET_ZERO_DATA and, for a sparse file,
//! FSCTL_QUERY_ALLOCATED_RANGES are storage requests ordered with the
//! object's reads and writes (docs/DATA-PATH.md). Zeroing breaks leases
//! and checks byte-range locks like a write; on a sparse file it frees the
//! storage ([`crate::vfs::Vfs::zero_range`]). A file that is not sparse is
//! allocated throughout, as far as its end.

use crate::io::IoOp;
use crate::lease::Operation;
use crate::lease::access::*;
use crate::smb::conn::IoKind;
use crate::smb::ctx::{Ctx, HandlerResult, ok_with};
use crate::smb::fscc::FILE_ATTRIBUTE_SPARSE_FILE;
use crate::smb::lease;
use crate::smb::status;
use crate::smb::wire::codec::FileId;
use crate::smb::wire::ioctl::{IoctlRequest, encode_ioctl_response};
use crate::smb::wire::sparse::*;
use crate::vfs::{FileAttr, FileType, SetAttr, Vfs, whole_range};

fn is_sparse(attr: &FileAttr) -> bool {
    attr.dos.unwrap_or(0) & FILE_ATTRIBUTE_SPARSE_FILE != 0
}

fn empty_reply(req: &IoctlRequest<'_>) -> HandlerResult {
    ok_with(|b| encode_ioctl_response(req.ctl_code, req.file_id, &[], b))
}

/// FSCTL_SET_SPARSE (MS-FSA 2.1.5.10.38). Opens with FILE_WRITE_DATA,
/// FILE_APPEND_DATA or FILE_WRITE_ATTRIBUTES may (smbtorture
/// smb2.ioctl.sparse_perms, as Windows). Clearing it allocates nothing:
/// holes read as zeros either way, and a file that is not sparse reports
/// itself allocated throughout.
pub fn set_sparse(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    let open = cx.open(req.file_id)?.clone();
    if open.kind == FileType::Directory {
        return Err(status::INVALID_PARAMETER);
    }
    if open.access & (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES) == 0 || cx.tree()?.read_only {
        return Err(status::ACCESS_DENIED);
    }
    let sparse = decode_set_sparse(req.input);
    let attr = cx.core.vfs.getattr(open.object).map_err(|e| status::from_vfs(&e))?;
    if is_sparse(&attr) != sparse {
        // An attribute change, as SET_INFO's (MS-FSA 2.1.5.14.2).
        lease::before_child_changed(cx, &open)?;
        let kept = attr.dos.unwrap_or(crate::smb::fscc::file_attributes(&attr) & crate::vfs::DOS_SETTABLE);
        let dos = if sparse { kept | FILE_ATTRIBUTE_SPARSE_FILE } else { kept & !FILE_ATTRIBUTE_SPARSE_FILE };
        let set = SetAttr { dos: Some(dos), ..Default::default() };
        cx.core.vfs.setattr(open.object, &set, cx.wall()).map_err(|e| status::from_vfs(&e))?;
    }
    empty_reply(req)
}

/// FSCTL_SET_ZERO_DATA (MS-FSA 2.1.5.10.39): the range inside the file is
/// zeroed, never the size changed; a range wholly past the end is done at
/// once.
pub fn zero_data(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    let open = cx.open(req.file_id)?.clone();
    let (offset, beyond) = decode_zero_data(req.input).ok_or(status::INVALID_PARAMETER)?;
    if open.kind == FileType::Directory {
        return Err(status::INVALID_PARAMETER);
    }
    if open.access & FILE_WRITE_DATA == 0 || cx.tree()?.read_only {
        return Err(status::ACCESS_DENIED);
    }
    let attr = cx.core.vfs.getattr(open.object).map_err(|e| status::from_vfs(&e))?;
    let end = beyond.min(attr.size);
    if offset >= end {
        return empty_reply(req);
    }
    let len = end - offset;
    lease::before_io(cx, &open, Operation::Write, offset, len)?;
    let now = cx.wall();
    if !open.written {
        super::read_write::archive_on_first_write(cx, open.object, now)?;
    }
    if let Ok(o) = cx.open(req.file_id) {
        o.written = true;
    }
    let op = IoOp::ZeroRange { object: open.object, offset, len, deallocate: is_sparse(&attr), now };
    cx.storage(op, IoKind::ZeroData { file_id: req.file_id })
}

/// FSCTL_QUERY_ALLOCATED_RANGES (MS-FSA 2.1.5.10.22): needs
/// FILE_READ_DATA; byte-range locks do not stop it.
pub fn query_allocated_ranges(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    let open = cx.open(req.file_id)?.clone();
    if open.kind == FileType::Directory {
        return Err(status::INVALID_PARAMETER);
    }
    let (offset, len) = decode_range_query(req.input).ok_or(status::INVALID_PARAMETER)?;
    if open.access & FILE_READ_DATA == 0 {
        return Err(status::ACCESS_DENIED);
    }
    let fit = req.max_output as usize / RANGE_LEN;
    if len == 0 {
        return reply(req.file_id, Vec::new(), fit);
    }
    // What a writer caches is not on storage yet: break it first, as a read does.
    lease::before_io(cx, &open, Operation::Read, offset, 0)?;
    let attr = cx.core.vfs.getattr(open.object).map_err(|e| status::from_vfs(&e))?;
    if !is_sparse(&attr) {
        return reply(req.file_id, whole_range(attr.size, offset, len), fit);
    }
    // One more than fits tells whether the answer overflows.
    let op = IoOp::AllocatedRanges { object: open.object, offset, len, max: fit.saturating_add(1) };
    cx.storage(op, IoKind::AllocatedRanges { file_id: req.file_id, fit })
}

fn reply(file_id: FileId, ranges: Vec<(u64, u64)>, fit: usize) -> HandlerResult {
    let (status, body) = super::read_write::ranges_reply(file_id, ranges, fit)?;
    Ok(crate::smb::ctx::Outcome::Reply { status, body })
}
