//! The srvsvc interface (MS-SRVS): NetrShareEnum, NetrShareGetInfo and
//! NetrServerGetInfo, enough for a client to list the shares.

use super::dcerpc::{NCA_S_FAULT_NDR, NCA_S_OP_RNG_ERROR, SyntaxId, uuid};
use super::ndr::{NdrReader, NdrWriter};

/// 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0 (MS-SRVS 1.9).
pub const SRVSVC_SYNTAX: SyntaxId =
    SyntaxId { uuid: uuid(0x4b32_4fc8, 0x1670, 0x01d3, [0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88]), version: 3 };

pub mod opnum {
    pub const NETR_SHARE_ENUM: u16 = 15;
    pub const NETR_SHARE_GET_INFO: u16 = 16;
    pub const NETR_SERVER_GET_INFO: u16 = 21;
    pub const NETR_SHARE_ENUM_STICKY: u16 = 36;
}

/// Share types (MS-SRVS 2.2.2.4).
pub const STYPE_DISKTREE: u32 = 0;
pub const STYPE_IPC: u32 = 3;
pub const STYPE_SPECIAL: u32 = 0x8000_0000;

/// Win32 error codes returned as NET_API_STATUS (MS-ERREF 2.2, MS-SRVS).
pub const ERROR_SUCCESS: u32 = 0;
pub const ERROR_INVALID_LEVEL: u32 = 124;
pub const NERR_NET_NAME_NOT_FOUND: u32 = 2310;

/// PLATFORM_ID_NT (MS-SRVS 2.2.4.41) and SV_TYPE_WORKSTATION | SV_TYPE_SERVER
/// | SV_TYPE_SERVER_NT (2.2.2.7).
const PLATFORM_ID_NT: u32 = 500;
const SERVER_TYPE: u32 = 0x0000_8003;

/// One share as srvsvc reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareEntry {
    pub name: String,
    pub share_type: u32,
    pub remark: String,
    /// The local path (SHARE_INFO_2), e.g. "C:\" style; may be empty.
    pub path: String,
}

/// What the calls answer from: the server name and its shares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerView {
    pub server_name: String,
    pub shares: Vec<ShareEntry>,
}

impl ServerView {
    /// The configured disk shares followed by IPC$ (a hidden special share,
    /// as Windows lists it).
    pub fn new(server_name: &str, shares: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut v: Vec<ShareEntry> = shares
            .into_iter()
            .map(|(name, remark)| ShareEntry { name, share_type: STYPE_DISKTREE, remark, path: String::new() })
            .collect();
        v.push(ShareEntry {
            name: "IPC$".into(),
            share_type: STYPE_IPC | STYPE_SPECIAL,
            remark: "IPC Service".into(),
            path: String::new(),
        });
        Self { server_name: server_name.into(), shares: v }
    }
}

/// Runs one call; the error is a DCE/RPC fault status.
pub fn call(view: &ServerView, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, u32> {
    let mut r = NdrReader::new(stub);
    let out = match opnum {
        // Every share is persistent, so the sticky list is the same.
        opnum::NETR_SHARE_ENUM | opnum::NETR_SHARE_ENUM_STICKY => share_enum(view, &mut r),
        opnum::NETR_SHARE_GET_INFO => share_get_info(view, &mut r),
        opnum::NETR_SERVER_GET_INFO => server_get_info(view, &mut r),
        _ => return Err(NCA_S_OP_RNG_ERROR),
    };
    out.map_err(|_| NCA_S_FAULT_NDR)
}

type NdrResult<T> = Result<T, super::ndr::NdrError>;

/// Share info levels answered (MS-SRVS 2.2.4.22-2.2.4.26).
fn level_known(level: u32) -> bool {
    matches!(level, 0 | 1 | 2 | 501 | 502)
}

/// The flat part of SHARE_INFO_0/1/2/501/502 (pointers as referents); the
/// strings follow in [`share_info_strings`].
fn share_info_flat(w: &mut NdrWriter, level: u32, s: &ShareEntry) {
    w.referent(); // netname
    if level == 0 {
        return;
    }
    w.u32(s.share_type);
    w.referent(); // remark
    match level {
        2 | 502 => {
            w.u32(0); // permissions
            w.u32(u32::MAX); // max_uses: unlimited
            w.u32(0); // current_uses
            w.referent(); // path
            w.null(); // passwd
            if level == 502 {
                w.u32(0); // reserved: security descriptor length
                w.null(); // no security descriptor
            }
        }
        501 => w.u32(0), // flags
        _ => {}
    }
}

fn share_info_strings(w: &mut NdrWriter, level: u32, s: &ShareEntry) {
    w.wstring(&s.name);
    if level != 0 {
        w.wstring(&s.remark);
    }
    if matches!(level, 2 | 502) {
        w.wstring(&s.path);
    }
}

/// NetrShareEnum (MS-SRVS 3.1.4.8). The request:
/// `[unique,string] ServerName; SHARE_ENUM_STRUCT InfoStruct;
/// DWORD PreferedMaximumLength; [unique] DWORD *ResumeHandle`.
/// Every entry is returned in one answer.
fn share_enum(view: &ServerView, r: &mut NdrReader<'_>) -> NdrResult<Vec<u8>> {
    r.unique_wstring()?;
    let level = r.u32()?;
    let _switch = r.u32()?;
    if r.pointer()? {
        let _entries = r.u32()?;
        if r.pointer()? {
            // Clients send an empty container; a filled one is not parsed.
            return Err(super::ndr::NdrError::Short);
        }
    }
    let _max_len = r.u32()?;
    let resume = match r.pointer()? {
        true => Some(r.u32()?),
        false => None,
    };
    let start = resume.unwrap_or(0) as usize;
    let entries = view.shares.get(start..).unwrap_or_default();

    let mut w = NdrWriter::new();
    w.u32(level);
    w.u32(level); // union discriminant
    let status = match level {
        l if level_known(l) => {
            w.referent(); // container
            w.u32(entries.len() as u32);
            if entries.is_empty() {
                w.null();
            } else {
                w.referent(); // buffer
                w.u32(entries.len() as u32); // conformance
                for s in entries {
                    share_info_flat(&mut w, level, s);
                }
                for s in entries {
                    share_info_strings(&mut w, level, s);
                }
            }
            ERROR_SUCCESS
        }
        _ => {
            w.null();
            ERROR_INVALID_LEVEL
        }
    };
    w.u32(view.shares.len() as u32); // TotalEntries
    match resume {
        Some(_) => {
            w.referent();
            w.u32(0); // the enumeration is complete
        }
        None => w.null(),
    }
    w.u32(status);
    Ok(w.buf)
}

/// NetrShareGetInfo (MS-SRVS 3.1.4.10): `[unique,string] ServerName;
/// [string] NetName; DWORD Level`.
fn share_get_info(view: &ServerView, r: &mut NdrReader<'_>) -> NdrResult<Vec<u8>> {
    r.unique_wstring()?;
    let name = r.wstring()?;
    let level = r.u32()?;
    let mut w = NdrWriter::new();
    w.u32(level); // union discriminant
    let share = view.shares.iter().find(|s| s.name.eq_ignore_ascii_case(&name));
    let status = match (share, level) {
        (_, l) if !level_known(l) => ERROR_INVALID_LEVEL,
        (None, _) => NERR_NET_NAME_NOT_FOUND,
        (Some(s), l) => {
            w.referent();
            share_info_flat(&mut w, l, s);
            share_info_strings(&mut w, l, s);
            ERROR_SUCCESS
        }
    };
    if status != ERROR_SUCCESS {
        w.null();
    }
    w.u32(status);
    Ok(w.buf)
}

/// NetrServerGetInfo (MS-SRVS 3.1.4.17): `[unique,string] ServerName;
/// DWORD Level`; levels 100 and 101.
fn server_get_info(view: &ServerView, r: &mut NdrReader<'_>) -> NdrResult<Vec<u8>> {
    r.unique_wstring()?;
    let level = r.u32()?;
    let mut w = NdrWriter::new();
    w.u32(level);
    let status = match level {
        100 | 101 => {
            w.referent();
            w.u32(PLATFORM_ID_NT);
            w.referent(); // name
            if level == 101 {
                w.u32(6); // version_major
                w.u32(1); // version_minor
                w.u32(SERVER_TYPE);
                w.referent(); // comment
            }
            w.wstring(&view.server_name);
            if level == 101 {
                w.wstring("");
            }
            ERROR_SUCCESS
        }
        _ => {
            w.null();
            ERROR_INVALID_LEVEL
        }
    };
    w.u32(status);
    Ok(w.buf)
}

#[cfg(test)]
mod tests;
