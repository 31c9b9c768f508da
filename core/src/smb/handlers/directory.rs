//! QUERY_DIRECTORY (MS-SMB2 3.3.5.18; MS-FSA 2.1.5.6.3): "." and ".." first,
//! then the Vfs listing filtered by the search pattern, resumable by cookie.

use crate::smb::conn::{DirPos, DirState};
use crate::smb::ctx::{Ctx, HandlerResult, ok_with};
use crate::smb::fscc::{self, DirEntryInfo, InfoError};
use crate::smb::status;
use crate::smb::wire::query::*;
use crate::vfs::Vfs;
use crate::vfs::{FileType, ObjectId};

const CLASSES: [u8; 6] = [1, 2, 3, 12, 37, 38];
/// Entries asked of the Vfs per readdir call.
const BATCH: usize = 256;

pub fn info_error(e: InfoError) -> u32 {
    e.status()
}

fn entry(cx: &Ctx<'_>, name: &str, id: ObjectId) -> Option<DirEntryInfo> {
    let attr = cx.smb.with_allocation(cx.core.vfs.getattr(id).ok()?);
    Some(DirEntryInfo {
        name: name.to_string(),
        file_index: 0,
        info: fscc::file_info_from_attr(&attr),
        short_name: String::new(),
    })
}

/// The ShortName of the entries that carry one: empty for "." and ".."
/// and for a name that is 8.3 already (as Windows leaves it), else its
/// short name, unique in the directory (crate::smb::short_name).
fn short_names(cx: &Ctx<'_>, dir: ObjectId, cands: &mut [(DirEntryInfo, DirPos, ObjectId)]) {
    use crate::smb::short_name::{is_8dot3, short_names_in};
    let long: Vec<(&str, ObjectId)> = cands
        .iter()
        .filter(|(e, _, _)| !is_8dot3(&e.name) && e.name != "." && e.name != "..")
        .map(|(e, _, id)| (e.name.as_str(), *id))
        .collect();
    let mut shorts = short_names_in(&cx.core.vfs, dir, &long).into_iter();
    for (e, _, _) in cands.iter_mut().filter(|(e, _, _)| !is_8dot3(&e.name) && e.name != "." && e.name != "..") {
        e.short_name = shorts.next().unwrap_or_default();
    }
}

pub fn query_directory(cx: &mut Ctx<'_>) -> HandlerResult {
    let req = QueryDirectoryRequest::decode(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    if !CLASSES.contains(&req.class) {
        return Err(status::INVALID_INFO_CLASS);
    }
    let max_transact = cx.core.config.smb.max_transact_size.max(65_536);
    if req.output_length > max_transact || req.output_length == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    if cx.conn.large_mtu() && u64::from(cx.hdr.credit_charge.max(1)) < u64::from(req.output_length).div_ceil(65_536) {
        return Err(status::INVALID_PARAMETER);
    }
    let open = cx.open(req.file_id)?;
    if open.kind != FileType::Directory {
        return Err(status::INVALID_PARAMETER);
    }
    if open.access & 0x1 == 0 {
        return Err(status::ACCESS_DENIED);
    }
    let dir = open.object;
    let mut state = open.dir.clone();
    if req.flags & (RESTART_SCANS | REOPEN) != 0 {
        state = DirState::default();
    }
    if state.pattern.is_none() || req.flags & (RESTART_SCANS | REOPEN) != 0 {
        state.pattern = Some(if req.pattern.is_empty() { "*".to_string() } else { req.pattern.clone() });
    }
    let pattern = state.pattern.clone().unwrap_or_else(|| "*".to_string());
    let single = req.flags & RETURN_SINGLE_ENTRY != 0;
    let want = match single {
        true => 1,
        false => (req.output_length as usize / 24 + 1).min(cx.core.config.limits.max_dir_entries).min(4096),
    };
    let parent = cx.core.vfs.parent(dir).unwrap_or(dir);
    let mut cands: Vec<(DirEntryInfo, DirPos, ObjectId)> = Vec::new();
    let mut pos = state.pos;
    while cands.len() < want && pos != DirPos::End {
        match pos {
            DirPos::Dot => {
                pos = DirPos::DotDot;
                if fscc::name_matches(&pattern, ".") {
                    cands.extend(entry(cx, ".", dir).map(|e| (e, pos, dir)));
                }
            }
            DirPos::DotDot => {
                pos = DirPos::Cookie(0);
                if fscc::name_matches(&pattern, "..") {
                    cands.extend(entry(cx, "..", parent).map(|e| (e, pos, parent)));
                }
            }
            DirPos::Cookie(_) if !fscc::has_wildcards(&pattern) => {
                // A pattern without wildcards names at most one entry (ignoring
                // case): look it up rather than list the whole directory.
                pos = DirPos::End;
                if let Ok((found, stored)) = cx.core.vfs.lookup_nocase(dir, &pattern) {
                    if fscc::name_matches(&pattern, &stored) {
                        cands.extend(entry(cx, &stored, found.id).map(|e| (e, pos, found.id)));
                    }
                }
            }
            DirPos::Cookie(c) => {
                let (entries, done) = cx.core.vfs.readdir(dir, c, BATCH).map_err(|e| status::from_vfs(&e))?;
                for e in &entries {
                    if cands.len() >= want {
                        break;
                    }
                    pos = DirPos::Cookie(e.cookie);
                    if fscc::name_matches(&pattern, &e.name) {
                        cands.extend(entry(cx, &e.name, e.id).map(|d| (d, pos, e.id)));
                    }
                }
                if (done || entries.is_empty()) && cands.len() < want {
                    pos = DirPos::End;
                }
            }
            DirPos::End => {}
        }
    }
    if matches!(req.class, fscc::class::FILE_BOTH_DIRECTORY_INFORMATION | fscc::class::FILE_ID_BOTH_DIRECTORY_INFORMATION)
    {
        short_names(cx, dir, &mut cands);
    }
    // Every class here but FileDirectoryInformation and
    // FileNamesInformation carries EaSize (MS-FSA 2.1.5.6.3).
    if !matches!(req.class, fscc::class::FILE_DIRECTORY_INFORMATION | fscc::class::FILE_NAMES_INFORMATION) {
        for (e, _, id) in cands.iter_mut() {
            e.info.ea_size = super::ea::ea_size(&cx.core.vfs, *id);
        }
    }
    let mut out = Vec::new();
    let n =
        fscc::encode_dir_entries(req.class, cands.iter().map(|c| &c.0), req.output_length as usize, single, &mut out)
            .map_err(info_error)?;
    let result = if n == 0 {
        match (cands.is_empty(), state.started) {
            (true, false) => Err(status::NO_SUCH_FILE),
            (true, true) => Err(status::NO_MORE_FILES),
            (false, _) => Err(status::INFO_LENGTH_MISMATCH),
        }
    } else {
        state.pos = match cands.get(n - 1) {
            Some((_, after, _)) if n < cands.len() => *after,
            _ => pos,
        };
        Ok(())
    };
    state.started = true;
    if let Ok(o) = cx.open(req.file_id) {
        o.dir = state;
    }
    result?;
    ok_with(|b| encode_output_buffer_response(&out, b))
}
