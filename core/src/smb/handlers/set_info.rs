//! SET_INFO (MS-SMB2 3.3.5.21; MS-FSA 2.1.5.14): times and attributes, end
//! of file, allocation, disposition, rename, link, position, mode and
//! extended attributes (handlers/ea.rs).
//! Security descriptors set owner, group and mode as far as they map
//! (fscc/security_set.rs) and are refused otherwise.

use super::directory::info_error;
use super::path::{self, lookup_ci};
use crate::lease::access::*;
use crate::lease::{Caller, Operation};
use crate::smb::conn::Open;
use crate::smb::ctx::{Ctx, HandlerResult, ok_with};
use crate::smb::fscc::{self, SetFileInfo};
use crate::smb::lease;
use crate::smb::status;
use crate::smb::write_time;
use crate::smb::wire::query::*;
use crate::time::Timespec;
use crate::vfs::Vfs;
use crate::vfs::{FileType, SetAttr, VfsError};

fn need(open: &Open, bits: u32) -> Result<(), u32> {
    match open.access & bits != 0 {
        true => Ok(()),
        false => Err(status::ACCESS_DENIED),
    }
}

/// A FILETIME field of FILE_BASIC_INFORMATION: 0, -1 (freeze) and -2
/// (thaw) leave it unchanged (MS-FSA 2.1.5.14.2).
fn time(ft: u64) -> Option<Timespec> {
    match ft {
        0 | u64::MAX | 0xFFFF_FFFF_FFFF_FFFE => None,
        t => Some(Timespec::from_filetime(t)),
    }
}

pub fn set_info(cx: &mut Ctx<'_>) -> HandlerResult {
    let msg = cx.msg.clone();
    let req = SetInfoRequest::decode(&msg).map_err(|_| status::INVALID_PARAMETER)?;
    let tree = cx.tree()?;
    let open = cx.open(req.file_id)?.clone();
    match req.info_type {
        INFO_FILE => {}
        INFO_SECURITY => {
            set_security(cx, &open, req.buffer, req.additional_information)?;
            return ok_with(encode_set_info_response);
        }
        INFO_FILESYSTEM | INFO_QUOTA => return Err(status::NOT_SUPPORTED),
        _ => return Err(status::INVALID_PARAMETER),
    }
    let info = fscc::decode_set_file_info(req.class, req.buffer).map_err(info_error)?;
    let now = cx.wall();
    let vfs_err = |e: VfsError| status::from_vfs(&e);
    match info {
        SetFileInfo::Basic { creation, last_access, last_write, change, attributes } => {
            need(&open, FILE_WRITE_ATTRIBUTES)?;
            // MS-FSA 2.1.1.3: a stream shares its file's basic information,
            // so times and attributes set through a stream's handle are the
            // file's (smbtorture smb2.streams.attributes2).
            let object = match open.kind {
                FileType::Stream => cx.core.vfs.getattr(open.object).map_err(vfs_err)?.parent_file.unwrap_or(open.object),
                _ => open.object,
            };
            let cur = cx.core.vfs.getattr(object).map_err(vfs_err)?;
            let mut set = SetAttr {
                btime: time(creation),
                atime: time(last_access),
                mtime: time(last_write),
                ctime: time(change),
                ..Default::default()
            };
            // MS-FSA 2.1.5.14.2: DIRECTORY on a file, TEMPORARY on a
            // directory are invalid; 0 leaves the attributes as they are.
            let directory = cur.kind == FileType::Directory;
            if attributes & fscc::FILE_ATTRIBUTE_DIRECTORY != 0 && !directory
                || attributes & fscc::FILE_ATTRIBUTE_TEMPORARY != 0 && directory
            {
                return Err(status::INVALID_PARAMETER);
            }
            if attributes != 0 {
                let mut dos = attributes & crate::vfs::DOS_SETTABLE;
                if object == tree.root {
                    // The root's HIDDEN and SYSTEM stay as they are.
                    let hs = fscc::FILE_ATTRIBUTE_HIDDEN | fscc::FILE_ATTRIBUTE_SYSTEM;
                    dos = dos & !hs | fscc::file_attributes(&cur) & hs;
                }
                // SPARSE_FILE is FSCTL_SET_SPARSE's alone (MS-FSA 2.1.5.10.33).
                set.dos = Some(dos | cur.dos.unwrap_or(0) & fscc::FILE_ATTRIBUTE_SPARSE_FILE);
                // FILE_ATTRIBUTE_READONLY maps to the owner write bit.
                let mode = match attributes & 0x1 != 0 {
                    true => cur.mode & !0o222,
                    false => cur.mode | 0o200,
                };
                // Changing it is a chmod: the owner's or root's (crate::access).
                if mode != cur.mode && !crate::access::may_chmod(&cur, &cx.identity()?) {
                    return Err(status::ACCESS_DENIED);
                }
                set.mode = Some(mode);
            }
            // MS-FSA 2.1.5.14.2: a change of attributes or times breaks
            // the parent's lease (BreakParentOplock).
            if set != SetAttr::default() {
                lease::before_child_changed(cx, &open)?;
            }
            cx.core.vfs.setattr(object, &set, now).map_err(vfs_err)?;
            write_time::basic_info_set(cx.core, cx.smb, open.file_id.volatile, last_write, cx.now);
        }
        SetFileInfo::EndOfFile(size) => {
            need(&open, FILE_WRITE_DATA)?;
            if open.kind == FileType::Directory {
                return Err(status::INVALID_PARAMETER);
            }
            lease::begin_on(cx, &open, Operation::SetEndOfFile)?;
            lease::before_child_changed(cx, &open)?;
            let old = cx.core.vfs.getattr(open.object).map_err(vfs_err)?.size;
            let set = SetAttr { size: Some(size), ..Default::default() };
            cx.core.vfs.setattr(open.object, &set, now).map_err(vfs_err)?;
            // A new size is a write shown at once; the same size shows the
            // writes before it (smbd; smbtorture
            // smb2.timestamps.delayed-write-vs-seteof).
            match old == size {
                true => write_time::update_if_pending(cx.core, cx.smb, open.file_id.volatile, cx.now),
                false => write_time::update(cx.core, cx.smb, open.file_id.volatile, cx.now),
            }
        }
        SetFileInfo::Allocation(size) => {
            need(&open, FILE_WRITE_DATA)?;
            // MS-FSA 2.1.4.12: any allocation change breaks like end of
            // file, growing too (smbtorture smb2.oplock.batch12).
            if open.kind != FileType::Directory {
                lease::begin_on(cx, &open, Operation::SetEndOfFile)?;
            }
            let cur = cx.core.vfs.getattr(open.object).map_err(vfs_err)?;
            if open.kind != FileType::Directory && size < cur.size {
                let set = SetAttr { size: Some(size), ..Default::default() };
                cx.core.vfs.setattr(open.object, &set, now).map_err(vfs_err)?;
            }
            // Like a write, shown at once (smbd).
            if open.kind != FileType::Directory {
                write_time::update(cx.core, cx.smb, open.file_id.volatile, cx.now);
            }
            // MS-FSA 2.1.5.14.3: Stream.AllocationSize = BlockAlign(size).
            if open.kind != FileType::Directory {
                if let Some(f) = cx.smb.files.get_mut(&open.object) {
                    f.allocation = crate::smb::fscc::allocation_size(size);
                }
            }
        }
        SetFileInfo::Disposition { delete_pending } => set_delete_pending(cx, &open, delete_pending)?,
        SetFileInfo::DispositionEx { flags } => set_delete_pending(cx, &open, flags & 0x1 != 0)?,
        SetFileInfo::Rename { replace_if_exists, name, .. } => {
            need(&open, DELETE)?;
            // MS-FSA 2.1.5.15.12: a target starting with ':' renames a stream.
            match name.starts_with(':') {
                true => super::stream_rename::rename(cx, &open, &name, replace_if_exists)?,
                false => rename(cx, &tree, &open, &name, replace_if_exists)?,
            }
        }
        SetFileInfo::Link { replace_if_exists, name } => {
            if open.kind != FileType::Regular {
                return Err(status::FILE_IS_A_DIRECTORY);
            }
            lease::begin_on(cx, &open, Operation::Link)?;
            let p = path::parse(name.strip_prefix('\\').unwrap_or(&name))?;
            let last = p.components.last().cloned().ok_or(status::OBJECT_NAME_INVALID)?;
            let who = cx.identity()?;
            let dir = path::walk_parent(&cx.core.vfs, tree.root, &p.components, &who)?;
            let dir_attr = cx.core.vfs.getattr(dir).map_err(vfs_err)?;
            if tree.read_only || !crate::access::may_add_entry(&dir_attr, &who) {
                return Err(status::ACCESS_DENIED);
            }
            lease::begin(cx, dir, Operation::ChildChange, Caller::Open(open.lease_open))?;
            if let Ok((existing, stored)) = lookup_ci(&cx.core.vfs, dir, &last) {
                if !replace_if_exists || existing.kind == FileType::Directory {
                    return Err(status::OBJECT_NAME_COLLISION);
                }
                cx.core.vfs.remove(dir, &stored, now).map_err(vfs_err)?;
            }
            cx.core.vfs.link(open.object, dir, &last, now).map_err(vfs_err)?;
        }
        // Valid data length is not kept.
        SetFileInfo::ValidDataLength(_) => need(&open, FILE_WRITE_DATA)?,
        SetFileInfo::FullEa(entries) => {
            need(&open, FILE_WRITE_EA)?;
            super::ea::set(cx, &open, &entries)?;
        }
        SetFileInfo::Position(pos) => {
            if let Ok(o) = cx.open(req.file_id) {
                o.position = pos;
            }
        }
        SetFileInfo::Mode(mode) => {
            if let Ok(o) = cx.open(req.file_id) {
                o.mode = mode;
            }
        }
    }
    ok_with(encode_set_info_response)
}

/// SET_INFO of a security descriptor (MS-FSA 2.1.5.16): WRITE_OWNER for
/// owner and group, WRITE_DAC for the DACL (MS-SMB2 3.3.5.21.3), then what
/// smb/dacl.rs keeps or maps onto the POSIX owner, group and mode.
fn set_security(cx: &mut Ctx<'_>, open: &Open, sd: &[u8], info: u32) -> Result<(), u32> {
    use crate::smb::fscc::{DACL_SECURITY_INFORMATION as DACL, GROUP_SECURITY_INFORMATION as GROUP};
    use crate::smb::fscc::OWNER_SECURITY_INFORMATION as OWNER;
    if info & (OWNER | GROUP) != 0 {
        need(open, WRITE_OWNER)?;
    }
    if info & DACL != 0 {
        need(open, WRITE_DAC)?;
    }
    // PROTECTED_DACL / UNPROTECTED_DACL_SECURITY_INFORMATION (MS-DTYP
    // 2.4.7) travel as the descriptor's control bits; other parts (SACL,
    // label, attribute, scope, backup) are not kept.
    const DACL_PROTECTION: u32 = 0x8000_0000 | 0x2000_0000;
    if info & !(OWNER | GROUP | DACL | DACL_PROTECTION) != 0 {
        return Err(status::NOT_SUPPORTED);
    }
    let sd = crate::smb::dacl::decode(sd)?;
    let cur = cx.core.vfs.getattr(open.object).map_err(|e| status::from_vfs(&e))?;
    let id = cx.identity()?;
    lease::begin_on(cx, open, Operation::SetSecurity)?;
    let (guest_uid, now) = (cx.core.config.smb.guest_uid, cx.wall());
    crate::smb::dacl::apply(&cx.core.vfs, &cur, &id, &sd, info & (OWNER | GROUP | DACL), guest_uid, now)
}

/// FILE_DISPOSITION_INFORMATION (MS-FSA 2.1.5.14.3).
fn set_delete_pending(cx: &mut Ctx<'_>, open: &Open, delete: bool) -> Result<(), u32> {
    need(open, DELETE)?;
    let Some(f) = cx.smb.files.get(&open.object) else { return Err(status::FILE_CLOSED) };
    if delete && f.name.is_empty() {
        return Err(status::CANNOT_DELETE);
    }
    // MS-FSA 2.1.5.14.3: a READONLY file cannot be marked for deletion.
    if delete && cx.core.vfs.getattr(open.object).is_ok_and(|a| crate::smb::access::is_readonly(&a)) {
        return Err(status::CANNOT_DELETE);
    }
    if delete && open.kind == FileType::Directory {
        let (entries, _) = cx.core.vfs.readdir(open.object, 0, 1).map_err(|e| status::from_vfs(&e))?;
        if !entries.is_empty() {
            return Err(status::DIRECTORY_NOT_EMPTY);
        }
    }
    if delete {
        lease::begin_on(cx, open, Operation::Delete)?;
    }
    if let Some(f) = cx.smb.files.get_mut(&open.object) {
        f.delete_pending = delete;
    }
    if delete {
        crate::smb::change_notify::delete_pending(cx.smb, open.object);
    }
    Ok(())
}

/// FILE_RENAME_INFORMATION (MS-FSA 2.1.5.14.11): the target is a path from
/// the share root.
fn rename(
    cx: &mut Ctx<'_>,
    tree: &crate::smb::conn::Tree,
    open: &Open,
    target: &str,
    replace: bool,
) -> Result<(), u32> {
    let Some(src) = cx.smb.files.get(&open.object).cloned() else { return Err(status::FILE_CLOSED) };
    let p = path::parse(target.strip_prefix('\\').unwrap_or(target))?;
    let last = p.components.last().cloned().ok_or(status::OBJECT_NAME_INVALID)?;
    let id = cx.identity()?;
    let dir = path::walk_parent(&cx.core.vfs, tree.root, &p.components, &id)?;
    // A path naming a stream (`dir\file:name`) is no file name (MS-FSCC
    // 2.1.5); its file in use is a sharing violation first, as Windows
    // answers (smbtorture smb2.streams.rename2). Streams are renamed with a
    // `:name` target (smb/handlers/stream_rename.rs).
    if p.stream.is_some() || p.data {
        return match lookup_ci(&cx.core.vfs, dir, &last) {
            Ok((a, _)) if cx.core.leases.opens_on(a.id).next().is_some() || cx.core.leases.has_open_streams(a.id) => {
                Err(status::SHARING_VIOLATION)
            }
            _ => Err(status::OBJECT_NAME_INVALID),
        };
    }
    // A named stream's handle renames within its file only (a `:name`
    // target). MS-FSA 2.1.5.15.12 names no status for a file name here; its
    // FileLinkInformation (2.1.5.15.7) fails the same case with
    // STATUS_INVALID_PARAMETER, and so does Windows an SMB1 NT RENAME of
    // `file:stream` to a file name (smbtorture raw.streams.rename2).
    if src.is_stream {
        return Err(status::INVALID_PARAMETER);
    }
    // The share root has no name to change.
    if src.name.is_empty() {
        return Err(status::NOT_SUPPORTED);
    }
    // MS-FSA 2.1.5.15.12: the destination directory is opened for
    // FILE_ADD_FILE (FILE_ADD_SUBDIRECTORY for a directory), both
    // write-class rights, sharing read and write only (note <185>), and
    // checked against its other opens as any open is (2.1.5.1.2.1): an open
    // of it with DELETE access, or one that does not share write (smbtorture
    // smb2.rename.no_share_delete_no_delete_access), makes the rename a
    // sharing violation, before any break (smb2.oplock.exclusive6, batch19).
    use crate::lease::{access, share};
    let add = match open.kind {
        FileType::Directory => access::FILE_APPEND_DATA, // FILE_ADD_SUBDIRECTORY
        _ => access::FILE_WRITE_DATA,                    // FILE_ADD_FILE
    };
    if cx.core.leases.opens_on(dir).any(|(_, e)| crate::lease::share_conflict(e, add, share::READ | share::WRITE)) {
        return Err(status::SHARING_VIOLATION);
    }
    lease::begin_on(cx, open, Operation::Rename)?;
    // MS-FSA 2.1.5.14.11: every other open of the file must share delete.
    let others_deny = cx
        .core
        .leases
        .opens_on(open.object)
        .any(|(id, e)| id != open.lease_open && e.share & crate::lease::share::DELETE == 0);
    if others_deny {
        return Err(status::SHARING_VIOLATION);
    }
    super::create::streams_share_delete(cx, open.object)?;
    if open.kind == FileType::Directory && cx.core.has_open_below(open.object) {
        return Err(status::ACCESS_DENIED);
    }
    // DELETE, granted at CREATE, covered leaving the source directory; the
    // new name needs write and search on the destination (crate::access).
    let dir_attr = cx.core.vfs.getattr(dir).map_err(|e| status::from_vfs(&e))?;
    if !crate::access::may_add_entry(&dir_attr, &id) {
        return Err(status::ACCESS_DENIED);
    }
    let mut to_name = last.clone();
    match lookup_ci(&cx.core.vfs, dir, &last) {
        Ok((existing, _)) if existing.id == open.object => {}
        Ok((existing, stored)) => {
            if !replace {
                return Err(status::OBJECT_NAME_COLLISION);
            }
            // The target's handle caching breaks too (MS-FSA 2.1.5.14.11).
            lease::begin(cx, existing.id, Operation::Rename, Caller::Open(open.lease_open))?;
            if existing.kind == FileType::Directory || cx.smb.files.contains_key(&existing.id) {
                return Err(status::ACCESS_DENIED);
            }
            // Replacing removes the target from its directory (crate::access).
            if !crate::access::may_remove_entry(&dir_attr, Some(&existing), &id) {
                return Err(status::ACCESS_DENIED);
            }
            to_name = stored;
        }
        Err(VfsError::NotFound) => {}
        Err(e) => return Err(status::from_vfs(&e)),
    }
    // Both directories' listings change (MS-FSA 2.1.5.14.11).
    lease::before_child_changed(cx, open)?;
    if dir != src.parent {
        lease::begin(cx, dir, Operation::ChildChange, Caller::Open(open.lease_open))?;
    }
    let now = cx.wall();
    cx.core.vfs.rename(src.parent, &src.name, dir, &to_name, replace, now).map_err(|e| status::from_vfs(&e))?;
    // The file's open streams follow it: a rename of one onto the unnamed
    // stream names the file by them (smb/handlers/stream_rename.rs).
    for f in cx.smb.files.values_mut().filter(|f| f.is_stream && f.parent == open.object) {
        f.base = Some((dir, to_name.clone()));
    }
    if let Some(f) = cx.smb.files.get_mut(&open.object) {
        f.parent = dir;
        f.name = to_name;
    }
    Ok(())
}
