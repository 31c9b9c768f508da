//! QUERY_INFO (MS-SMB2 3.3.5.20): file, filesystem and security
//! information; quotas are not supported.

use super::directory::info_error;
use crate::smb::conn::{Open, Tree};
use crate::smb::ctx::{Ctx, HandlerResult, Outcome};
use crate::smb::wire::codec::to_vec;
use crate::smb::fscc::{self, FileInfo, Fill, FsInfo, StreamInfo};
use crate::smb::pipe::handlers as pipe;
use crate::smb::status;
use crate::smb::wire::codec::put_u32;
use crate::smb::wire::query::*;
use crate::vfs::Vfs;
use crate::vfs::{FileAttr, FileType, ObjectId};

/// Deepest directory nesting walked to build a name.
const MAX_DEPTH: usize = 256;

/// The path of `open` from the share root, with a leading backslash.
fn path_of(cx: &Ctx<'_>, tree: &Tree, open: &Open) -> String {
    let Some(f) = cx.smb.files.get(&open.object) else { return String::new() };
    let mut parts = vec![f.name.clone()];
    let mut dir: ObjectId = f.parent;
    if f.is_stream {
        // parent is the base file: name it, then continue from its directory.
        let Some(base) = cx.smb.files.get(&f.parent) else { return format!(":{}", f.name) };
        parts = vec![format!("{}:{}", base.name, f.name)];
        dir = base.parent;
    }
    for _ in 0..MAX_DEPTH {
        if dir == tree.root {
            break;
        }
        let Ok(up) = cx.core.vfs.parent(dir) else { break };
        match super::path::name_in(&cx.core.vfs, up, dir) {
            Some(name) => parts.push(name),
            None => break,
        }
        dir = up;
    }
    parts.retain(|p| !p.is_empty());
    parts.reverse();
    format!("\\{}", parts.join("\\"))
}

fn file_info(cx: &Ctx<'_>, tree: &Tree, open: &Open, attr: &FileAttr, class: u8) -> FileInfo {
    let mut info = fscc::file_info_from_attr(attr);
    info.access_flags = open.access;
    info.position = open.position;
    info.mode = open.mode;
    info.delete_pending = cx.smb.files.get(&open.object).is_some_and(|f| f.delete_pending);
    info.volume_serial = u64::from(volume_serial(cx));
    if matches!(
        class,
        fscc::class::FILE_NAME_INFORMATION
            | fscc::class::FILE_ALL_INFORMATION
            | fscc::class::FILE_NORMALIZED_NAME_INFORMATION
    ) {
        info.name = path_of(cx, tree, open);
    }
    // The normalized name is relative to the share root, without a
    // leading backslash: the root's is empty, as smbd answers (smbtorture
    // smb2.getinfo.normalized).
    if class == fscc::class::FILE_NORMALIZED_NAME_INFORMATION
        && let Some(relative) = info.name.strip_prefix('\\')
    {
        info.name = relative.to_string();
    }
    // Every stream of a file has the file's id (MS-FSCC 2.4.26
    // FileInternalInformation, 2.4.23 FileIdInformation; smbtorture
    // smb2.fileid).
    if let Some(f) = cx.smb.files.get(&open.object).filter(|f| f.is_stream) {
        info.index_number = f.parent;
    }
    if matches!(class, fscc::class::FILE_EA_INFORMATION | fscc::class::FILE_ALL_INFORMATION) {
        info.ea_size = super::ea::ea_size(&cx.core.vfs, super::ea::owner_of(cx, open.object));
    }
    if class == fscc::class::FILE_ALTERNATE_NAME_INFORMATION {
        // The root has no name, and so no short name; a stream answers its
        // file's.
        let mut id = open.object;
        let mut f = cx.smb.files.get(&id);
        if let Some(base) = f.filter(|f| f.is_stream) {
            id = base.parent;
            f = cx.smb.files.get(&id);
        }
        if let Some(f) = f.filter(|f| !f.name.is_empty()) {
            info.short_name = crate::smb::short_name::short_name_in(&cx.core.vfs, f.parent, &f.name, id);
        }
    }
    // MS-FSA 2.1.5.12.29: the streams of Open.File, whichever of them the
    // open is of (smbtorture smb2.streams.create-disposition lists them
    // through a stream's handle).
    let file = match attr.kind {
        FileType::Stream if class == fscc::class::FILE_STREAM_INFORMATION => {
            attr.parent_file.and_then(|f| cx.core.vfs.getattr(f).ok()).map(|f| cx.smb.with_allocation(f))
        }
        _ => Some(attr.clone()),
    };
    if let Some(file) = file.filter(|f| class == fscc::class::FILE_STREAM_INFORMATION && f.kind == FileType::Regular) {
        info.streams = fscc::file_info_from_attr(&file).streams;
        for (name, size) in cx.core.vfs.list_streams(file.id).unwrap_or_default() {
            info.streams.push(StreamInfo {
                name: format!(":{name}:$DATA"),
                size,
                allocation_size: fscc::allocation_size(size),
            });
        }
    }
    info
}

fn volume_serial(cx: &Ctx<'_>) -> u32 {
    let g = cx.smb.server_guid;
    u32::from_le_bytes([g[0], g[1], g[2], g[3]])
}

fn fs_info(cx: &Ctx<'_>, tree: &Tree) -> FsInfo {
    let st = cx.core.vfs.fsstat().unwrap_or_default();
    let label = tree.share.and_then(|i| cx.core.config.smb.shares.get(i)).map(|s| s.name.clone()).unwrap_or_default();
    FsInfo {
        total_bytes: st.total_bytes,
        free_bytes: st.free_bytes,
        avail_bytes: st.avail_bytes,
        volume_label: label,
        serial: volume_serial(cx),
        named_streams: true,
        read_only: tree.read_only,
        object_id: cx.smb.server_guid,
        ..FsInfo::default()
    }
}

/// The access a query needs of the open (MS-SMB2 3.3.5.20.1; MS-FSA
/// 2.1.5.12 per class, 2.1.5.13 for a security descriptor): attributes for
/// the classes that carry times and attributes, FILE_READ_EA for the
/// extended attributes, READ_CONTROL for owner, group, DACL and label,
/// ACCESS_SYSTEM_SECURITY for the SACL. Checked before anything is read
/// (smbtorture smb2.getinfo.getinfo_access).
fn query_access(open: &Open, info_type: u8, class: u8, additional: u32) -> Result<(), u32> {
    use crate::lease::access::{FILE_READ_ATTRIBUTES, FILE_READ_EA, READ_CONTROL};
    use fscc::class::*;
    // MS-DTYP 2.4.7 SECURITY_INFORMATION: OWNER, GROUP, DACL, LABEL; SACL.
    const READ_CONTROL_PARTS: u32 = 0x1 | 0x2 | 0x4 | 0x10;
    const SACL_SECURITY_INFORMATION: u32 = 0x8;
    // MS-DTYP 2.4.3.
    const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
    let need = match (info_type, class) {
        (
            INFO_FILE,
            FILE_BASIC_INFORMATION
            | FILE_ALL_INFORMATION
            | FILE_PIPE_INFORMATION
            | FILE_NETWORK_OPEN_INFORMATION
            | FILE_ATTRIBUTE_TAG_INFORMATION,
        ) => FILE_READ_ATTRIBUTES,
        (INFO_FILE, FILE_FULL_EA_INFORMATION) => FILE_READ_EA,
        (INFO_SECURITY, _) => {
            let control = if additional & READ_CONTROL_PARTS != 0 { READ_CONTROL } else { 0 };
            let sacl = if additional & SACL_SECURITY_INFORMATION != 0 { ACCESS_SYSTEM_SECURITY } else { 0 };
            control | sacl
        }
        _ => 0,
    };
    match open.access & need == need {
        true => Ok(()),
        false => Err(status::ACCESS_DENIED),
    }
}

pub fn query_info(cx: &mut Ctx<'_>) -> HandlerResult {
    let req = QueryInfoRequest::decode(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    let max_transact = cx.core.config.smb.max_transact_size.max(65_536);
    if req.output_length > max_transact {
        return Err(status::INVALID_PARAMETER);
    }
    if let Some(fid) = pipe::lookup(cx, req.file_id) {
        return pipe::query_info(cx, fid, req.info_type, req.class, req.output_length);
    }
    let open = cx.open(req.file_id)?.clone();
    query_access(&open, req.info_type, req.class, req.additional_information)?;
    // MS-SMB2 3.3.5.20.1: FileNormalizedNameInformation is SMB 3.1.1's
    // (smbd refuses it below 3.1.1 as well; smbtorture
    // smb2.getinfo.normalized).
    if req.info_type == INFO_FILE
        && req.class == fscc::class::FILE_NORMALIZED_NAME_INFORMATION
        && cx.conn.dialect < crate::smb::wire::negotiate::DIALECT_311
    {
        return Err(status::NOT_SUPPORTED);
    }
    if req.info_type == INFO_FILE && req.class == fscc::class::FILE_FULL_EA_INFORMATION {
        return super::ea::query(cx, &open, &req);
    }
    let tree = cx.tree()?;
    let attr = cx.smb.with_allocation(cx.core.vfs.getattr(open.object).map_err(|e| status::from_vfs(&e))?);
    let max = req.output_length as usize;
    let mut out = Vec::new();
    let fill = match req.info_type {
        INFO_FILE => {
            let info = file_info(cx, &tree, &open, &attr, req.class);
            fscc::encode_file_info_limited(req.class, &info, max, &mut out).map_err(info_error)?
        }
        INFO_FILESYSTEM => {
            let info = fs_info(cx, &tree);
            fscc::encode_fs_info_limited(req.class, &info, max, &mut out).map_err(info_error)?
        }
        INFO_SECURITY => {
            // MS-SMB2 3.3.5.20.3: owner, group and DACL need READ_CONTROL.
            if open.access & crate::lease::access::READ_CONTROL == 0 {
                return Err(status::ACCESS_DENIED);
            }
            let sd = crate::smb::dacl::effective(&cx.core.vfs, &attr);
            fscc::filtered(&sd, req.additional_information).encode(&mut out);
            if out.len() > max {
                // MS-SMB2 3.3.5.20.3: the error data is the size needed.
                let mut body = vec![9, 0, 0, 0];
                put_u32(&mut body, 4);
                put_u32(&mut body, out.len() as u32);
                return Ok(Outcome::Reply { status: status::BUFFER_TOO_SMALL, body });
            }
            Fill::Complete
        }
        INFO_QUOTA => return Err(status::NOT_SUPPORTED),
        _ => return Err(status::INVALID_PARAMETER),
    };
    Ok(Outcome::Reply { status: fill.status(), body: to_vec(|b| encode_output_buffer_response(&out, b)) })
}
