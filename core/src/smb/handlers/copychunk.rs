//! Server-side copy (MS-SMB2 3.3.5.15.5, 3.3.5.15.6):
//! FSCTL_SRV_REQUEST_RESUME_KEY names an open as a copy source;
//! FSCTL_SRV_COPYCHUNK / _WRITE copy chunks of it into the open the IOCTL
//! is sent on, inside storage ([`crate::vfs::Vfs::copy_range`]) as one
//! storage request ordered like a write (docs/DATA-PATH.md).

use crate::io::IoOp;
use crate::lease::Operation;
use crate::lease::access::*;
use crate::smb::conn::IoKind;
use crate::smb::ctx::{Ctx, HandlerResult, Outcome, ok_with};
use crate::smb::lease;
use crate::smb::status;
use crate::smb::wire::codec::FileId;
use crate::smb::wire::copychunk::*;
use crate::smb::wire::ioctl::{IoctlRequest, encode_ioctl_response};
use crate::vfs::{FileType, Vfs};

/// The resume key of `fid`: its FileId (persistent, volatile) and eight
/// zero bytes. It names the open only on this connection's sessions.
fn resume_key(fid: FileId) -> [u8; RESUME_KEY_LEN] {
    let mut k = [0u8; RESUME_KEY_LEN];
    k[..8].copy_from_slice(&fid.persistent.to_le_bytes());
    k[8..16].copy_from_slice(&fid.volatile.to_le_bytes());
    k
}

fn key_file_id(k: &[u8; RESUME_KEY_LEN]) -> Option<FileId> {
    if k[16..] != [0u8; 8] {
        return None;
    }
    let persistent = u64::from_le_bytes(k[..8].try_into().ok()?);
    let volatile = u64::from_le_bytes(k[8..16].try_into().ok()?);
    Some(FileId { persistent, volatile })
}

/// MS-SMB2 3.3.5.15.5.
pub fn request_resume_key(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    let open = cx.open(req.file_id)?;
    let fid = open.file_id;
    let out = encode_resume_key(&resume_key(fid));
    if (req.max_output as usize) < out.len() {
        return Err(status::INVALID_PARAMETER);
    }
    ok_with(|b| encode_ioctl_response(req.ctl_code, req.file_id, &out, b))
}

/// An over-limit request: INVALID_PARAMETER carrying the server's limits
/// (MS-SMB2 3.3.5.15.6).
fn limits(req: &IoctlRequest<'_>) -> HandlerResult {
    let out = encode_copychunk_response(MAX_CHUNKS, MAX_CHUNK_SIZE, MAX_TOTAL);
    let mut body = Vec::new();
    encode_ioctl_response(req.ctl_code, req.file_id, &out, &mut body);
    Ok(Outcome::Reply { status: status::INVALID_PARAMETER, body })
}

/// MS-SMB2 3.3.5.15.6. A failure past the limit checks still carries a
/// SRV_COPYCHUNK_RESPONSE (nothing written), which clients decode.
pub fn copychunk(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    match copy(cx, req) {
        Err(st) if st != status::FILE_CLOSED && st != status::PENDING => {
            let out = encode_copychunk_response(0, 0, 0);
            let mut body = Vec::new();
            encode_ioctl_response(req.ctl_code, req.file_id, &out, &mut body);
            Ok(Outcome::Reply { status: st, body })
        }
        r => r,
    }
}

/// Whether `access` reads data (FILE_EXECUTE reads as well, MS-FSA 2.1.5.2).
fn reads(access: u32) -> bool {
    access & (FILE_READ_DATA | FILE_EXECUTE) != 0
}

fn copy(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    let dst = cx.open(req.file_id)?.clone();
    if (req.max_output as usize) < 12 {
        return Err(status::INVALID_PARAMETER);
    }
    let mut copy = CopyChunkCopy::decode(req.input).map_err(|_| status::INVALID_PARAMETER)?;
    let total: u64 = copy.chunks.iter().map(|c| u64::from(c.length)).sum();
    if copy.chunk_count > MAX_CHUNKS
        || copy.chunks.iter().any(|c| c.length > MAX_CHUNK_SIZE || c.length == 0)
        || total > u64::from(MAX_TOTAL)
    {
        return limits(req);
    }
    let src_fid = key_file_id(&copy.source_key).ok_or(status::OBJECT_NAME_NOT_FOUND)?;
    // The source is an open of a session this connection is a channel of.
    let conn = cx.conn.id;
    let src = cx
        .smb
        .sessions
        .values()
        .filter(|s| s.channels.contains_key(&conn))
        .find_map(|s| s.opens.get(&src_fid.volatile).filter(|o| o.file_id == src_fid))
        .cloned()
        .ok_or(status::OBJECT_NAME_NOT_FOUND)?;
    // The source is read; the target written, and for COPYCHUNK (not
    // _WRITE) read as well.
    // COPYCHUNK reads the target (FILE_READ_DATA; execute does not do).
    let dst_reads = req.ctl_code != FSCTL_SRV_COPYCHUNK || dst.access & FILE_READ_DATA != 0;
    if !reads(src.access) || dst.access & FILE_WRITE_DATA == 0 || !dst_reads {
        return Err(status::ACCESS_DENIED);
    }
    if src.kind == FileType::Directory || dst.kind == FileType::Directory {
        return Err(status::INVALID_DEVICE_REQUEST);
    }
    // Chunks are copied in order; the first that reads past the source's
    // end (INVALID_VIEW_SIZE) or writes past the largest offset stops the
    // copy, and the ones before it are still done.
    let size = cx.core.vfs.getattr(src.object).map_err(|e| status::from_vfs(&e))?.size;
    let bad = copy.chunks.iter().enumerate().find_map(|(i, c)| {
        let len = u64::from(c.length);
        if c.source_offset.checked_add(len).is_none_or(|end| end > size) {
            Some((i, status::INVALID_VIEW_SIZE))
        } else if c.target_offset.checked_add(len).is_none_or(|end| end > i64::MAX as u64) {
            Some((i, status::INVALID_PARAMETER))
        } else {
            None
        }
    });
    let (good, stop) = match bad {
        Some((0, st)) => return Err(st),
        Some((i, st)) => (i, Some(st)),
        None => (copy.chunks.len(), None),
    };
    copy.chunks.truncate(good);
    for c in &copy.chunks {
        lease::before_io(cx, &src, Operation::Read, c.source_offset, u64::from(c.length))?;
    }
    for c in &copy.chunks {
        lease::before_io(cx, &dst, Operation::Write, c.target_offset, u64::from(c.length))?;
    }
    // A write to the target, for its last-write time too.
    crate::smb::write_time::written(cx.core, cx.smb, dst.file_id.volatile, cx.now);
    if let Ok(o) = cx.open(req.file_id) {
        o.written = true;
    }
    let chunks = copy.chunks.iter().map(|c| (c.source_offset, c.target_offset, u64::from(c.length))).collect();
    let op = IoOp::Copy { object: dst.object, source: src.object, chunks, now: cx.wall() };
    let kind = IoKind::CopyChunk { file_id: req.file_id, ctl_code: req.ctl_code, chunks: good as u32, stop };
    cx.storage(op, kind)
}
