//! READ, WRITE, FLUSH (MS-SMB2 3.3.5.11-3.3.5.13); LOCK is in lock.rs.

use std::ops::Range;

use crate::io::{HEADROOM, IoOp, IoResult, PoolBuf, ReadData, WriteData};
use crate::lease::Operation;
use crate::lease::access::*;
use crate::smb::conn::IoKind;
use crate::id::ConnId;
use crate::smb::SmbShared;
use crate::smb::ctx::{Ctx, HandlerResult, Outcome, ok, ok_with};
use crate::smb::wire::codec::to_vec;
use crate::smb::lease;
use crate::smb::pipe::handlers as pipe;
use crate::smb::signing::{self, SigningAlgorithm};
use crate::smb::handlers::negotiate::negotiated_size;
use crate::smb::status;
use crate::smb::seal::Seal;
use crate::smb::wire::header::{HEADER_LEN, Header};
use crate::smb::wire::transform::TRANSFORM_HEADER_LEN;
use crate::smb::wire::read_write::*;
use crate::smb::wire::session_setup::encode_empty_response;
use crate::smb::fscc;
use crate::vfs::{FileType, SetAttr};
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
    // MS-SMB2 3.3.5.12: no more than the MaxReadSize this connection got.
    if req.length > negotiated_size(cx.conn.dialect, cx.core.config.smb.max_read_size) {
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
    // MS-FSA 2.1.5.2: a negative ByteOffset is invalid, even for a
    // zero-length read, and so is a range ending past the largest offset
    // (smbtorture smb2.rw.invalid).
    if req.offset.checked_add(u64::from(req.length)).is_none_or(|end| end > i64::MAX as u64) {
        return Err(status::INVALID_PARAMETER);
    }
    let open = open.clone();
    lease::before_io(cx, &open, Operation::Read, req.offset, u64::from(req.length))?;
    let object = open.object;
    if req.length == 0 && req.minimum_count == 0 {
        // A zero-length read succeeds wherever it is aimed (Windows, Samba).
        return ok_with(|b| encode_read_response(&[], b));
    }
    let io = IoOp::Read { object, offset: req.offset, len: req.length };
    cx.storage(io, IoKind::Read { file_id: req.file_id, offset: req.offset, minimum: req.minimum_count })
}

/// The largest file size Windows accepts a write to (MS-FSA 2.1.5.3
/// MAXFILESIZE, 0xfffffff0000 bytes: 16 TiB less 64 KiB).
const MAXFILESIZE: u64 = 0xfff_ffff_0000;

pub fn write(cx: &mut Ctx<'_>) -> HandlerResult {
    let msg = cx.msg.clone();
    // The data: where it lies in the message, or in the pipes the adapter
    // received it into (then `msg` ends where it would begin).
    let (req, data) = match cx.payload.clone() {
        Some(p) => match WriteRequest::decode_head(&msg) {
            Ok((req, len)) if len == p.len() => (req, WriteData::Piped(p)),
            _ => return Err(status::INVALID_PARAMETER),
        },
        None => {
            let req = WriteRequest::decode(&msg).map_err(|_| status::INVALID_PARAMETER)?;
            let data = WriteData::Bytes(msg.slice_ref(req.data));
            (req, data)
        }
    };
    check_charge(cx, data.len() as u64)?;
    // MS-SMB2 3.3.5.13: no more than the MaxWriteSize this connection got.
    if data.len() as u64 > u64::from(negotiated_size(cx.conn.dialect, cx.core.config.smb.max_write_size)) {
        return Err(status::INVALID_PARAMETER);
    }
    if let Some(fid) = pipe::lookup(cx, req.file_id) {
        return match &data {
            WriteData::Bytes(b) => pipe::write(cx, fid, b),
            WriteData::Piped(p) => pipe::write(cx, fid, &p.to_vec().ok_or(status::INVALID_PARAMETER)?),
        };
    }
    let open = cx.open(req.file_id)?;
    if open.kind == FileType::Directory {
        return Err(status::INVALID_DEVICE_REQUEST);
    }
    if open.access & (FILE_WRITE_DATA | FILE_APPEND_DATA) == 0 {
        return Err(status::ACCESS_DENIED);
    }
    let open = open.clone();
    // A share made read-only by a reload refuses the writes of opens made
    // before it (a tree connected since then cannot open for writing).
    if cx.tree()?.read_only {
        return Err(status::ACCESS_DENIED);
    }
    let object = open.object;
    let now = cx.wall();
    // A negative offset (the all-ones FILE_WRITE_TO_END_OF_FILE of the
    // local API too) is invalid over SMB2, as Windows answers; so is an
    // end past the largest file size, MAXFILESIZE (MS-FSA 2.1.5.3), unless
    // nothing is written (smbtorture smb2.rw.invalid).
    let offset = req.offset;
    let len = data.len() as u64;
    if offset > i64::MAX as u64 || (len > 0 && offset.saturating_add(len) > MAXFILESIZE) {
        return Err(status::INVALID_PARAMETER);
    }
    lease::before_io(cx, &open, Operation::Write, offset, len)?;
    if !open.written {
        archive_on_first_write(cx, object, now)?;
    }
    let volatile = cx.open(req.file_id)?.file_id.volatile;
    crate::smb::write_time::written(cx.core, cx.smb, volatile, cx.now);
    if let Ok(o) = cx.open(req.file_id) {
        o.written = true;
    }
    // The data stays where it arrived: a slice of the received frame, or
    // its pipes.
    let io = IoOp::Write { object, offset, data, now, sync: false };
    cx.storage(io, IoKind::Write { file_id: req.file_id, offset })
}

/// MS-FSA 2.1.4.17: a write sets FILE_ATTRIBUTE_ARCHIVE. Checked on the
/// first write through an open, and written only when a kept attribute set
/// lacks it (a file that never had attributes set reports ARCHIVE anyway).
pub(crate) fn archive_on_first_write(cx: &mut Ctx<'_>, object: crate::vfs::ObjectId, now: crate::time::Timespec) -> Result<(), u32> {
    let attr = cx.core.vfs.getattr(object).map_err(|e| status::from_vfs(&e))?;
    if let Some(dos) = attr.dos.filter(|d| d & fscc::FILE_ATTRIBUTE_ARCHIVE == 0) {
        let set = SetAttr { dos: Some(dos | fscc::FILE_ATTRIBUTE_ARCHIVE), ..Default::default() };
        cx.core.vfs.setattr(object, &set, now).map_err(|e| status::from_vfs(&e))?;
    }
    Ok(())
}

pub fn flush(cx: &mut Ctx<'_>) -> HandlerResult {
    let fid = decode_flush(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    let open = cx.open(fid)?;
    if open.access & (FILE_WRITE_DATA | FILE_APPEND_DATA) == 0 {
        return Err(status::ACCESS_DENIED);
    }
    let open = open.clone();
    lease::before_io(cx, &open, Operation::Flush, 0, 0)?;
    // A flush shows the writes not yet shown (smbd; smbtorture
    // smb2.timestamps.delayed-write-vs-flush).
    crate::smb::write_time::update_if_pending(cx.core, cx.smb, open.file_id.volatile, cx.now);
    let object = open.object;
    cx.storage(IoOp::Sync { object }, IoKind::Flush)
}

/// What a completed storage request answers.
#[derive(Debug)]
pub(crate) enum IoReply {
    /// A response body (WRITE, FLUSH).
    Body(Vec<u8>),
    /// A status and the body that goes with it (a COPYCHUNK that stopped
    /// early still says what it wrote).
    Status(u32, Vec<u8>),
    /// READ data in its pooled buffer, replied in place.
    Data(ReadData),
}

/// The second half of READ, WRITE and FLUSH once storage has answered:
/// the status, the open's position (MS-SMB2 3.3.5.12/13), the body.
pub(crate) fn io_done(
    smb: &mut SmbShared,
    conn: ConnId,
    session_id: u64,
    tree_id: u32,
    kind: IoKind,
    result: IoResult,
) -> Result<IoReply, u32> {
    let mut position = |fid, pos| {
        if let Some(o) = smb.session_mut(conn, session_id).and_then(|s| s.open_mut(fid, tree_id)) {
            o.position = pos;
        }
    };
    match (kind, result) {
        (IoKind::Read { file_id, offset, minimum }, IoResult::Read(r)) => {
            let rd = r.map_err(|e| status::from_vfs(&e))?;
            if rd.len == 0 || (rd.len as u64) < u64::from(minimum) {
                return Err(status::END_OF_FILE);
            }
            position(file_id, offset + rd.len as u64);
            Ok(IoReply::Data(rd))
        }
        (IoKind::Write { file_id, offset }, IoResult::Write(r)) => {
            let (n, _) = r.map_err(|e| status::from_vfs(&e))?;
            position(file_id, offset + n as u64);
            Ok(IoReply::Body(to_vec(|b| encode_write_response(n as u32, b))))
        }
        (IoKind::CopyChunk { file_id, ctl_code, chunks, stop }, IoResult::Write(r)) => {
            let body = |c: u32, n: u32| {
                let out = crate::smb::wire::copychunk::encode_copychunk_response(c, 0, n);
                to_vec(|b| crate::smb::wire::ioctl::encode_ioctl_response(ctl_code, file_id, &out, b))
            };
            // MS-SMB2 3.3.5.15.6: the chunks before a bad one are written
            // and counted; a failure still carries the counts.
            match (r, stop) {
                (Ok((n, _)), None) => Ok(IoReply::Body(body(chunks, n as u32))),
                (Ok((n, _)), Some(st)) => Ok(IoReply::Status(st, body(chunks, n as u32))),
                (Err(e), _) => Ok(IoReply::Status(status::from_vfs(&e), body(0, 0))),
            }
        }
        (IoKind::ZeroData { file_id }, IoResult::Write(r)) => {
            r.map_err(|e| status::from_vfs(&e))?;
            let ctl = crate::smb::wire::sparse::FSCTL_SET_ZERO_DATA;
            Ok(IoReply::Body(to_vec(|b| crate::smb::wire::ioctl::encode_ioctl_response(ctl, file_id, &[], b))))
        }
        (IoKind::AllocatedRanges { file_id, fit }, IoResult::Ranges(r)) => {
            let ranges = r.map_err(|e| status::from_vfs(&e))?;
            match ranges_reply(file_id, ranges, fit)? {
                (status::SUCCESS, body) => Ok(IoReply::Body(body)),
                (st, body) => Ok(IoReply::Status(st, body)),
            }
        }
        (IoKind::Flush, IoResult::Sync(r)) => {
            r.map_err(|e| status::from_vfs(&e))?;
            Ok(IoReply::Body(to_vec(encode_empty_response)))
        }
        _ => Err(status::INTERNAL_ERROR),
    }
}

/// The QUERY_ALLOCATED_RANGES reply for `ranges` when `fit` of them fit
/// the output: all of them; as many as fit with STATUS_BUFFER_OVERFLOW;
/// or STATUS_BUFFER_TOO_SMALL when not one does (none to send is a
/// success).
pub(crate) fn ranges_reply(
    file_id: crate::smb::wire::codec::FileId, mut ranges: Vec<(u64, u64)>, fit: usize) -> Result<(u32, Vec<u8>), u32> {
    if !ranges.is_empty() && fit == 0 {
        return Err(status::BUFFER_TOO_SMALL);
    }
    let status = if ranges.len() > fit { status::BUFFER_OVERFLOW } else { status::SUCCESS };
    ranges.truncate(fit);
    let out = crate::smb::wire::sparse::encode_ranges(&ranges);
    Ok((status, to_vec(|b| crate::smb::wire::ioctl::encode_ioctl_response(crate::smb::wire::sparse::FSCTL_QUERY_ALLOCATED_RANGES, file_id, &out, b))))
}

/// Frames a successful READ reply around its data: the Direct-TCP header,
/// the SMB2 header and the READ response's fixed part go into the buffer's
/// headroom and the message is signed where it lies, or, on an encrypted
/// session, encrypted where it lies with its TRANSFORM_HEADER in front
/// (MS-SMB2 3.3.4.1.4). Runs on the storage worker (it is the request's
/// [`crate::io::ReadFinisher`]); returns the range of the framed reply,
/// which leaves as a slice of the buffer the storage read filled.
pub(crate) fn frame_read_reply(
    buf: &mut PoolBuf,
    len: usize,
    rh: &Header,
    sign: Option<(SigningAlgorithm, [u8; 16])>,
    seal: Option<&Seal>,
) -> Option<Range<usize>> {
    let transform = if seal.is_some() { TRANSFORM_HEADER_LEN } else { 0 };
    let head = read_reply_head(len, transform, rh)?;
    let start = HEADROOM.checked_sub(head.len() + transform)?;
    let end = HEADROOM.checked_add(len)?;
    let msg_start = start + 4 + transform;
    let whole = buf.as_mut_slice();
    whole.get_mut(start..start + 4)?.copy_from_slice(head.get(..4)?);
    whole.get_mut(msg_start..HEADROOM)?.copy_from_slice(head.get(4..)?);
    match seal {
        Some(seal) => {
            let header = seal.apply(whole.get_mut(msg_start..end)?)?;
            whole.get_mut(start + 4..msg_start)?.copy_from_slice(&header);
        }
        None => {
            if let Some((algo, key)) = sign {
                signing::sign(algo, &key, whole.get_mut(msg_start..end)?);
            }
        }
    }
    Some(start..end)
}

/// What goes in front of a READ reply's `len` bytes of data: the
/// Direct-TCP header (counting `transform` bytes of TRANSFORM_HEADER that
/// the caller puts after it), the SMB2 header and the READ response's fixed
/// part. Alone (no transform, unsigned) it is the READ's
/// [`crate::io::ReadHead`], when the data is spliced.
pub(crate) fn read_reply_head(len: usize, transform: usize, rh: &Header) -> Option<Vec<u8>> {
    const FIXED: usize = 16;
    let msg_len = (transform + HEADER_LEN + FIXED).checked_add(len)?;
    let msg_len = u32::try_from(msg_len).ok().filter(|n| *n <= 0x00ff_ffff)?;
    let mut head = Vec::with_capacity(4 + HEADER_LEN + FIXED);
    head.extend_from_slice(&msg_len.to_be_bytes());
    rh.encode(&mut head);
    let body = head.len();
    encode_read_response(&[], &mut head);
    head.truncate(body + FIXED);
    crate::smb::wire::codec::patch_u32(&mut head, body + 4, u32::try_from(len).ok()?);
    Some(head)
}

impl Ctx<'_> {
    /// Hands `op` to storage: as a request the reply waits for, when this
    /// request may wait ([`Ctx::io_allowed`]), or else at once on this
    /// thread (inside a compound). Either way
    /// `handlers::read_write::io_done` turns the result into the reply.
    pub fn storage(&mut self, op: crate::io::IoOp, kind: IoKind) -> HandlerResult {
        if !self.io_allowed {
            let result = self.core.run_io_inline(op);
            let (session, tree) = (self.hdr.session_id, self.hdr.tree_id);
            return match io_done(self.smb, self.conn.id, session, tree, kind, result)? {
                IoReply::Body(body) => ok(body),
                IoReply::Status(status, body) => Ok(Outcome::Reply { status, body }),
                IoReply::Data(rd) => ok_with(|b| encode_read_response(rd.data(), b)),
            };
        }
        let token = crate::id::WaitToken { conn: self.conn.id, op: self.op_id() };
        self.core.submit_io(token, op);
        self.io_wait = Some(kind);
        Ok(Outcome::Io)
    }
}
