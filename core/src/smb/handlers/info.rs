//! QUERY_INFO (MS-SMB2 3.3.5.20): file, filesystem and security
//! information; quotas are not supported.

use super::directory::info_error;
use crate::smb::ctx::{Ctx, HandlerResult, Outcome, ok};
use crate::smb::fscc;
use crate::smb::status;
use crate::smb::wire::codec::put_u32;
use crate::smb::wire::query::*;

pub fn query_info(cx: &mut Ctx<'_>) -> HandlerResult {
    let req = QueryInfoRequest::decode(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    let max_transact = cx.core.config.smb.max_transact_size.max(65_536);
    if req.output_length > max_transact {
        return Err(status::INVALID_PARAMETER);
    }
    let open = cx.open(req.file_id)?.clone();
    let attr = cx.core.vfs.getattr(open.object).map_err(|e| status::from_vfs(&e))?;
    let max = req.output_length as usize;
    let mut out = Vec::new();
    match req.info_type {
        INFO_FILE => {
            let info = fscc::file_info_from_attr(&attr);
            let truncated = fscc::encode_file_info_limited(req.class, &info, max, &mut out).map_err(info_error)?;
            if truncated {
                return Ok(Outcome::Reply {
                    status: status::BUFFER_OVERFLOW,
                    body: encode_output_buffer_response(&out),
                });
            }
        }
        INFO_FILESYSTEM => {
            let info = fscc::FsInfo::default();
            fscc::encode_fs_info(req.class, &info, &mut out).map_err(info_error)?;
            if out.len() > max {
                return Err(status::INFO_LENGTH_MISMATCH);
            }
        }
        INFO_SECURITY => {
            out = fscc::minimal_security_descriptor(attr.uid, attr.gid, attr.mode, req.additional_information);
            if out.len() > max {
                // MS-SMB2 3.3.5.20.3: the error data is the size needed.
                let mut body = vec![9, 0, 0, 0];
                put_u32(&mut body, 4);
                put_u32(&mut body, out.len() as u32);
                return Ok(Outcome::Reply { status: status::BUFFER_TOO_SMALL, body });
            }
        }
        INFO_QUOTA => return Err(status::NOT_SUPPORTED),
        _ => return Err(status::INVALID_PARAMETER),
    }
    ok(encode_output_buffer_response(&out))
}
