//! SMB2 commands on a pipe open: CREATE on IPC$ (MS-SMB2 3.3.5.9), CLOSE,
//! READ and WRITE (3.3.5.12, 3.3.5.13), IOCTL FSCTL_PIPE_TRANSCEIVE
//! (3.3.5.15.1) and QUERY_INFO FileStandardInformation.

use super::srvsvc::ServerView;
use super::{PipeError, PipeOpen};
use crate::smb::ctx::{Ctx, HandlerResult, Outcome, ok, ok_with};
use crate::smb::wire::codec::to_vec;
use crate::smb::status;
use crate::smb::wire::codec::{FileId, put_u32};
use crate::smb::wire::create::{CreateRequest, NetworkOpenInfo, action, encode_create_response};
use crate::smb::wire::ioctl::encode_ioctl_response;
use crate::smb::wire::query::encode_output_buffer_response;
use crate::smb::wire::read_write::{encode_read_response, encode_write_response};

pub const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_C017;
const FILE_ATTRIBUTE_NORMAL: u32 = 0x80;
const FILE_STANDARD_INFORMATION: u8 = 5;

/// The pipe open `fid` names in the request's session and tree, if any.
/// Nothing is reported here: a non-pipe FileId goes on to the file path.
pub fn lookup(cx: &mut Ctx<'_>, fid: FileId) -> Option<FileId> {
    let fid = if fid == FileId::RELATED { cx.chain_file? } else { fid };
    let tid = cx.hdr.tree_id;
    let s = cx.smb.session(cx.conn.id, cx.hdr.session_id).filter(|s| s.valid)?;
    s.trees.get(&tid).filter(|t| t.is_ipc())?;
    s.pipes.get(&fid.volatile).filter(|p| p.file_id == fid && p.tree_id == tid)?;
    cx.used_file = Some(fid);
    Some(fid)
}

fn pipe<'c>(cx: &'c mut Ctx<'_>, fid: FileId) -> Result<&'c mut PipeOpen, u32> {
    cx.session()?.pipes.get_mut(&fid.volatile).ok_or(status::FILE_CLOSED)
}

fn view(cx: &Ctx<'_>) -> ServerView {
    let smb = &cx.core.config.smb;
    ServerView::new(&smb.server_name, smb.shares.iter().map(|s| (s.name.clone(), String::new())))
}

fn pipe_error(e: PipeError) -> u32 {
    match e {
        PipeError::Full => status::INSUFFICIENT_RESOURCES,
        PipeError::Pdu(_) => status::INVALID_PARAMETER,
    }
}

/// CREATE on IPC$: only the served pipes exist.
pub fn create(cx: &mut Ctx<'_>, req: &CreateRequest, tree_id: u32) -> HandlerResult {
    let name = super::pipe_name(&req.name).ok_or(status::OBJECT_NAME_NOT_FOUND)?;
    let max_opens = cx.core.config.limits.max_opens_per_session;
    let s = cx.session()?;
    if s.opens.len() + s.pipes.len() >= max_opens {
        return Err(status::INSUFFICIENT_RESOURCES);
    }
    let volatile = cx.smb.new_volatile();
    let file_id = FileId { persistent: cx.core.rng.u64() >> 1, volatile };
    cx.session()?.pipes.insert(volatile, PipeOpen::new(file_id, tree_id, name));
    cx.used_file = Some(file_id);
    let info = NetworkOpenInfo { allocation_size: 4096, attributes: FILE_ATTRIBUTE_NORMAL, ..Default::default() };
    ok(encode_create_response(0, action::OPENED, &info, file_id, &[]))
}

pub fn close(cx: &mut Ctx<'_>, fid: FileId) -> HandlerResult {
    cx.session()?.pipes.remove(&fid.volatile);
    ok_with(|b| crate::smb::wire::create::encode_close_response(None, b))
}

/// READ: at most one message; a message longer than the read is returned
/// in parts with STATUS_BUFFER_OVERFLOW.
pub fn read(cx: &mut Ctx<'_>, fid: FileId, length: u32) -> HandlerResult {
    let p = pipe(cx, fid)?;
    if p.available() == 0 {
        return Err(status::PIPE_EMPTY);
    }
    let (data, more) = p.read(length as usize);
    let st = if more { status::BUFFER_OVERFLOW } else { status::SUCCESS };
    Ok(Outcome::Reply { status: st, body: to_vec(|b| encode_read_response(&data, b)) })
}

pub fn write(cx: &mut Ctx<'_>, fid: FileId, data: &[u8]) -> HandlerResult {
    let v = view(cx);
    pipe(cx, fid)?.write(data, &v).map_err(pipe_error)?;
    ok_with(|b| encode_write_response(data.len() as u32, b))
}

/// FSCTL_PIPE_TRANSCEIVE: a write, then a read of up to MaxOutputResponse.
pub fn transceive(cx: &mut Ctx<'_>, fid: FileId, input: &[u8], max_output: u32) -> HandlerResult {
    let v = view(cx);
    let max = max_output.min(cx.core.config.smb.max_transact_size.max(65_536)) as usize;
    let p = pipe(cx, fid)?;
    p.write(input, &v).map_err(pipe_error)?;
    let (data, more) = p.read(max);
    let st = if more { status::BUFFER_OVERFLOW } else { status::SUCCESS };
    Ok(Outcome::Reply { status: st, body: to_vec(|b| encode_ioctl_response(FSCTL_PIPE_TRANSCEIVE, fid, &data, b)) })
}

/// QUERY_INFO: FileStandardInformation as Windows gives it for a pipe
/// (AllocationSize 4096, one link, DeletePending set).
pub fn query_info(cx: &mut Ctx<'_>, fid: FileId, info_type: u8, class: u8, output_length: u32) -> HandlerResult {
    let p = pipe(cx, fid)?;
    if info_type != crate::smb::wire::query::INFO_FILE || class != FILE_STANDARD_INFORMATION {
        return Err(status::NOT_SUPPORTED);
    }
    if output_length < 24 {
        return Err(status::INFO_LENGTH_MISMATCH);
    }
    let mut out = Vec::with_capacity(24);
    out.extend_from_slice(&4096u64.to_le_bytes()); // AllocationSize
    out.extend_from_slice(&(p.available() as u64).to_le_bytes()); // EndOfFile
    put_u32(&mut out, 1); // NumberOfLinks
    out.extend_from_slice(&[1, 0, 0, 0]); // DeletePending, Directory, Reserved
    ok_with(|b| encode_output_buffer_response(&out, b))
}
