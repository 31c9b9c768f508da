//! FSCTL_GET_COMPRESSION and FSCTL_SET_COMPRESSION (MS-FSCC 2.3.12,
//! 2.3.67): the server compresses nothing, so every file reports
//! COMPRESSION_FORMAT_NONE, setting NONE succeeds and changes nothing, and
//! asking for a compression format is NOT_SUPPORTED, as smbd answers
//! without a compressing file system.

use crate::smb::ctx::{Ctx, HandlerResult, ok_with};
use crate::smb::status;
use crate::smb::wire::ioctl::{IoctlRequest, encode_ioctl_response};

pub const FSCTL_GET_COMPRESSION: u32 = 0x0009_003C;
pub const FSCTL_SET_COMPRESSION: u32 = 0x0009_C040;
const COMPRESSION_FORMAT_NONE: u16 = 0;

pub fn get(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    cx.open(req.file_id)?;
    if req.max_output < 2 {
        return Err(status::INVALID_PARAMETER);
    }
    ok_with(|b| encode_ioctl_response(req.ctl_code, req.file_id, &COMPRESSION_FORMAT_NONE.to_le_bytes(), b))
}

pub fn set(cx: &mut Ctx<'_>, req: &IoctlRequest<'_>) -> HandlerResult {
    cx.open(req.file_id)?;
    let format = req.input.get(..2).ok_or(status::INVALID_PARAMETER)?;
    if u16::from_le_bytes([format[0], format[1]]) != COMPRESSION_FORMAT_NONE {
        return Err(status::NOT_SUPPORTED);
    }
    ok_with(|b| encode_ioctl_response(req.ctl_code, req.file_id, &[], b))
}
