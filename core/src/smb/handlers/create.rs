//! CREATE (MS-SMB2 3.3.5.9; MS-FSA 2.1.5.1): dispositions, directories,
//! streams, share modes, delete-on-close, MxAc, QFid, AlSi and
//! AppInstanceId contexts.

use crate::vfs::Vfs;

use super::durable;
use crate::smb::access::{self as smb_access, WRITE_MASK};
pub use crate::smb::access::map_access;
pub use super::open_info::network_open_info;
use super::path::{self, SmbPath, lookup_ci};
use crate::lease::access::*;
use crate::smb::conn::{DirState, Open};
use crate::id::WaitToken;
use crate::smb::app_instance;
use crate::smb::app_instances::{self, AppInstance};
use crate::smb::ctx::{Ctx, HandlerResult, ok};
use crate::smb::dacl;
use crate::smb::fscc::{self, SecurityDescriptor};
use crate::smb::status;
use crate::smb::wire::codec::FileId;
use crate::smb::wire::create::*;
use crate::smb::wire::negotiate::DIALECT_300;
use crate::smb::wire::create_context::{
    CreateContext, ResponseContext, decode_create_contexts, encode_create_contexts,
};
use crate::vfs::{CreateAttr, FileAttr, FileType, ObjectId, SetAttr, VfsError};

/// The volume id reported in QFid responses.
pub fn volume_id(server_guid: &[u8; 16]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(server_guid.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(b)
}

/// What the target of a CREATE turned out to be.
struct Target {
    attr: FileAttr,
    /// Open.GrantedAccess (smb/access.rs).
    granted: u32,
    parent: ObjectId,
    name: String,
    is_stream: bool,
    action: u32,
    /// What MAXIMUM_ALLOWED would have granted (the MxAc answer).
    maximal: u32,
    /// For a stream: the directory and name of its file.
    base: Option<(ObjectId, String)>,
}

pub fn create(cx: &mut Ctx<'_>) -> HandlerResult {
    let req = CreateRequest::decode(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    let tree = cx.tree()?;
    let contexts = decode_create_contexts(&req.contexts).map_err(|_| status::INVALID_PARAMETER)?;
    let ask = durable::request(cx, &contexts)?;
    if let durable::Ask::Reconnect { .. } = ask {
        return durable::reconnect(cx, &req, &contexts, &tree, ask);
    }
    if req.impersonation_level > 3 {
        return Err(status::BAD_IMPERSONATION_LEVEL);
    }
    let dir_opt = req.options & options::DIRECTORY_FILE != 0;
    let nondir_opt = req.options & options::NON_DIRECTORY_FILE != 0;
    if req.disposition > disposition::OVERWRITE_IF || (dir_opt && nondir_opt) || req.share_access > 7 {
        return Err(status::INVALID_PARAMETER);
    }
    if dir_opt && !matches!(req.disposition, disposition::CREATE | disposition::OPEN | disposition::OPEN_IF) {
        return Err(status::INVALID_PARAMETER);
    }
    if tree.is_ipc() {
        return crate::smb::pipe::handlers::create(cx, &req, tree.id);
    }
    let max_opens = cx.core.config.limits.max_opens_per_session;
    if cx.session()?.opens.len() >= max_opens {
        return Err(status::INSUFFICIENT_RESOURCES);
    }
    let access = map_access(req.desired_access, tree.maximal_access);
    if tree.read_only && access & WRITE_MASK != 0 {
        return Err(status::ACCESS_DENIED);
    }
    let delete_on_close = req.options & options::DELETE_ON_CLOSE != 0;
    if delete_on_close && access & DELETE == 0 {
        return Err(status::ACCESS_DENIED);
    }
    if let Some(r) = durable::replay(cx, ask) {
        return r;
    }
    #[cfg(test)]
    if req.name == "__pend__" && cx.async_id.is_none() {
        // Test hook for the async machinery (the Leases issue pends here).
        cx.op_id();
        return Ok(crate::smb::ctx::Outcome::Pending);
    }
    let p = path::parse(&req.name)?;
    let reserve = allocation_request(cx, &contexts)?;
    let secd = security_request(&contexts)?;
    let eas = ea_request(&contexts)?;
    // MS-SMB2 2.2.13 (FILE_NO_EA_KNOWLEDGE): EAs from a caller that says
    // it does not understand them are refused.
    if eas.is_some() && req.options & options::NO_EA_KNOWLEDGE != 0 {
        return Err(status::ACCESS_DENIED);
    }
    let instance = app_instances::requested(&contexts)?.filter(|_| cx.conn.dialect >= DIALECT_300);
    if let (Some(id), Some(share)) = (instance, tree.share) {
        // MS-SMB2 3.3.5.9.13: the instance's opens from another client are
        // closed, not broken, when this user may read the file.
        let others = cx.smb.app_instances.others(id, &req.name, share, cx.conn.client_guid);
        if !others.is_empty() && tree.maximal_access & FILE_READ_DATA != 0 {
            let then = WaitToken { conn: cx.conn.id, op: cx.op_id() };
            if app_instance::close_others(cx.core, cx.smb, &others, then, cx.now) {
                return Err(status::PENDING);
            }
        }
    }
    let t = resolve(cx, &tree, &p, &req, secd.as_ref())?;
    if let Some(entries) = eas.as_deref() {
        new_eas(cx, &t, entries)?;
    }
    let access = t.granted;
    if delete_on_close && t.attr.kind == FileType::Directory {
        let (entries, _) = cx.core.vfs.readdir(t.attr.id, 0, 1).map_err(|e| status::from_vfs(&e))?;
        if !entries.is_empty() {
            return Err(status::DIRECTORY_NOT_EMPTY);
        }
    }
    if delete_on_close && t.name.is_empty() {
        return Err(status::CANNOT_DELETE);
    }
    let lease_open = cx.core.leases.add_open(t.attr.id, access, req.share_access, cx.conn.id);
    if t.is_stream {
        cx.core.leases.note_stream(t.attr.id, t.parent);
    }
    cx.smb.add_open(t.attr.id, t.parent, &t.name, t.is_stream);
    if let (true, Some(f)) = (t.is_stream, cx.smb.files.get_mut(&t.attr.id)) {
        f.base = t.base.clone();
    }
    // MS-SMB2 3.3.5.9.3: the reservation is for a file created or
    // overwritten by this open; an existing file opened keeps its own.
    if let (Some(size), true) = (reserve, t.action != action::OPENED && t.attr.kind != FileType::Directory) {
        if let Some(f) = cx.smb.files.get_mut(&t.attr.id) {
            f.allocation = size;
        }
    }
    let attr = cx.smb.with_allocation(t.attr.clone());
    let volatile = cx.smb.new_volatile();
    let file_id = FileId { persistent: cx.core.rng.u64() >> 1, volatile };
    let open = Open {
        file_id,
        tree_id: tree.id,
        object: t.attr.id,
        kind: t.attr.kind,
        lease_open,
        access,
        delete_on_close,
        written: false,
        write_time: Default::default(),
        position: 0,
        mode: req.options & 0x0000_003E,
        dir: DirState::default(),
        lock_sequences: Default::default(),
        next_ea: 0,
    };
    cx.session()?.opens.insert(volatile, open.clone());
    cx.used_file = Some(file_id);
    let is_dir = t.attr.kind == FileType::Directory;
    let (oplock_level, lease_ctx) = match crate::smb::lease::grant(cx, &req, t.attr.id, lease_open, is_dir, file_id) {
        Ok(g) => g,
        Err(s) => {
            if let Some(o) = cx.session()?.opens.remove(&volatile) {
                crate::smb::release::release_open(cx.core, cx.smb, o, cx.now);
            }
            return Err(s);
        }
    };

    if let (Some(id), Some(share)) = (instance, tree.share) {
        let path = app_instances::normalize(&req.name);
        let client_guid = cx.conn.client_guid;
        let a = AppInstance { id, path, share, client_guid, persistent: file_id.persistent };
        cx.smb.app_instances.insert(lease_open, a);
    }

    let mut resp_ctx = Vec::new();
    for c in &contexts {
        match c {
            CreateContext::MaximalAccess { .. } => {
                resp_ctx.push(ResponseContext::MaximalAccess { query_status: 0, maximal_access: t.maximal })
            }
            // A stream answers its file's id (smbtorture smb2.fileid).
            CreateContext::QueryOnDiskId => resp_ctx.push(ResponseContext::QueryOnDiskId {
                disk_file_id: if t.is_stream { t.parent } else { t.attr.id },
                volume_id: volume_id(&cx.smb.server_guid),
            }),
            _ => {}
        }
    }
    resp_ctx.extend(lease_ctx);
    resp_ctx.extend(durable::grant(cx, ask, &open, &req.name));
    let mut ctx_bytes = Vec::new();
    encode_create_contexts(&resp_ctx, &mut ctx_bytes);
    ok(encode_create_response(oplock_level, t.action, &network_open_info(&attr), file_id, &ctx_bytes))
}

/// The "ExtA" create context (MS-SMB2 2.2.13.2.1): its
/// FILE_FULL_EA_INFORMATION list, checked before anything is created
/// (STATUS_EA_LIST_INCONSISTENT, STATUS_INVALID_EA_NAME, and
/// STATUS_EA_TOO_LARGE for a set over the limit).
fn ea_request(contexts: &[CreateContext]) -> Result<Option<Vec<fscc::EaEntry>>, u32> {
    let Some(raw) = contexts.iter().find_map(|c| match c {
        CreateContext::ExtendedAttributes(b) => Some(b),
        _ => None,
    }) else {
        return Ok(None);
    };
    let entries = fscc::ea::decode_full_ea_list(raw).map_err(|e| e.status())?;
    // What a new or overwritten file keeps: the last value per name.
    let mut kept: Vec<(&str, &[u8])> = Vec::new();
    for e in &entries {
        kept.retain(|(n, _)| !n.eq_ignore_ascii_case(&e.name));
        if !e.value.is_empty() {
            kept.push((&e.name, &e.value));
        }
    }
    if fscc::ea::packed_size(kept) > fscc::ea::MAX_EA_SET {
        return Err(status::EA_TOO_LARGE);
    }
    Ok(Some(entries))
}

/// The EAs of an ExtA context land on a file or directory the CREATE made,
/// or replace those of a file it overwrote or superseded; an open of an
/// existing object, and a stream, ignore them. A new object whose EAs
/// cannot be kept is removed again.
fn new_eas(cx: &mut Ctx<'_>, t: &Target, entries: &[fscc::EaEntry]) -> Result<(), u32> {
    if t.action == action::OPENED || t.is_stream {
        return Ok(());
    }
    let now = cx.wall();
    let r = super::ea::apply(&cx.core.vfs, t.attr.id, entries, t.action != action::CREATED, now);
    if r.is_err() && t.action == action::CREATED {
        let _ = match t.attr.kind {
            FileType::Directory => cx.core.vfs.rmdir(t.parent, &t.name, now),
            _ => cx.core.vfs.remove(t.parent, &t.name, now),
        };
    }
    r
}

/// The AllocationSize create context (MS-SMB2 2.2.13.2.6), aligned to the
/// cluster (MS-FSA 2.1.4.5 BlockAlign); STATUS_DISK_FULL when the store has
/// not that much free (3.3.5.9.3). Checked before the disposition is
/// applied, so nothing is created when it fails.
fn allocation_request(cx: &Ctx<'_>, contexts: &[CreateContext]) -> Result<Option<u64>, u32> {
    let Some(size) = contexts.iter().find_map(|c| match c {
        CreateContext::AllocationSize(n) => Some(*n),
        _ => None,
    }) else {
        return Ok(None);
    };
    let free = cx.core.vfs.fsstat().map_err(vfs_err)?.avail_bytes;
    if size > free {
        return Err(status::DISK_FULL);
    }
    Ok(Some(fscc::allocation_size(size)))
}

/// MS-FSA 2.1.5.1.1: a new object keeps the attributes asked for that an
/// application may set, a file with ARCHIVE. Nothing is written when that
/// is what the object reports without (a file with ARCHIVE alone, a
/// directory with none), so a plain create costs no attribute write.
fn keep_new_attributes(cx: &mut Ctx<'_>, attr: FileAttr, asked: u32) -> Result<FileAttr, u32> {
    let mut dos = asked & crate::vfs::DOS_SETTABLE;
    if attr.kind != FileType::Directory {
        dos |= fscc::FILE_ATTRIBUTE_ARCHIVE;
    }
    let derived = if attr.kind == FileType::Directory { 0 } else { fscc::FILE_ATTRIBUTE_ARCHIVE };
    if dos == derived {
        return Ok(attr);
    }
    let set = SetAttr { dos: Some(dos), ..Default::default() };
    cx.core.vfs.setattr(attr.id, &set, cx.wall()).map_err(vfs_err)
}

fn vfs_err(e: VfsError) -> u32 {
    status::from_vfs(&e)
}

/// What `id` may have on `attr` (found in `dir`): the mode's answer
/// (smb/access.rs) limited by kept DACLs (smb/dacl.rs).
fn maximal_of(cx: &Ctx<'_>, attr: &FileAttr, dir: Option<&FileAttr>, id: &crate::access::Identity, read_only: bool) -> u32 {
    let posix = smb_access::maximal(attr, dir, id, read_only);
    dacl::refine(&cx.core.vfs, attr, dir, id, posix)
}

/// The SecD create context (MS-SMB2 2.2.13.2), decoded before anything is
/// created: STATUS_INVALID_PARAMETER when malformed.
fn security_request(contexts: &[CreateContext]) -> Result<Option<SecurityDescriptor>, u32> {
    contexts
        .iter()
        .find_map(|c| match c {
            CreateContext::SecurityDescriptor(b) => Some(dacl::decode(b)),
            _ => None,
        })
        .transpose()
}

/// The security of a new object: the DACL its parent passes on, then what
/// the SecD context gives (smb/dacl.rs).
fn new_security(
    cx: &mut Ctx<'_>,
    parent: ObjectId,
    attr: &FileAttr,
    id: &crate::access::Identity,
    secd: Option<&SecurityDescriptor>,
) -> Result<(), u32> {
    let now = cx.wall();
    let given = secd.map_or(0, dacl::parts_of);
    if given & fscc::DACL_SECURITY_INFORMATION == 0 {
        dacl::inherit(&cx.core.vfs, parent, attr, now)?;
    }
    match secd {
        Some(sd) if given != 0 => {
            let attr = cx.core.vfs.getattr(attr.id).map_err(vfs_err)?;
            dacl::apply(&cx.core.vfs, &attr, id, sd, given, cx.core.config.smb.guest_uid, now)
        }
        _ => Ok(()),
    }
}

/// MS-FSA 2.1.5.1.2.1: the access an open of the existing `attr` is
/// granted, `maximal` being all it may have, checked before sharing and
/// before any overwrite.
/// FILE_ATTRIBUTE_READONLY refuses a delete-on-close open with
/// STATUS_CANNOT_DELETE; an overwrite needs write access to what it
/// replaces whatever was asked (smb/access.rs has the mapping).
fn check_existing(
    attr: &FileAttr,
    maximal: u32,
    req: &CreateRequest,
    overwrite: bool,
    stream: bool,
) -> Result<(u32, u32), u32> {
    let asked = map_access(req.desired_access, 0) | (req.desired_access & MAXIMUM_ALLOWED);
    if smb_access::is_readonly(attr) && asked & (FILE_WRITE_DATA | FILE_APPEND_DATA) != 0 {
        return Err(status::ACCESS_DENIED);
    }
    if req.options & options::DELETE_ON_CLOSE != 0 && smb_access::is_readonly(attr) {
        return Err(status::CANNOT_DELETE);
    }
    let granted = smb_access::grant(asked, maximal)?;
    if req.options & options::DELETE_ON_CLOSE != 0 && granted & DELETE == 0 {
        return Err(status::ACCESS_DENIED);
    }
    // MS-FSA 2.1.5.1.2: an overwrite or supersede of a file's unnamed
    // stream replaces its attributes and EAs too (an ExtA context's or
    // none), so the caller must hold FILE_WRITE_EA and FILE_WRITE_ATTRIBUTES
    // on it, asked for or not; a named stream's needs neither. Both need
    // FILE_WRITE_DATA here (the spec asks DELETE instead of a supersede).
    let needs = match stream {
        true => FILE_WRITE_DATA,
        false => FILE_WRITE_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES,
    };
    if overwrite && maximal & needs != needs {
        return Err(status::ACCESS_DENIED);
    }
    Ok((granted, maximal))
}

/// The access of an open that created its object: what it asked for (POSIX
/// open(O_CREAT) hands the creator the descriptor it asked for whatever
/// the new mode), and all it may have under MAXIMUM_ALLOWED.
fn created_access(attr: &FileAttr, dir: &FileAttr, id: &crate::access::Identity, tree: &crate::smb::conn::Tree, req: &CreateRequest) -> (u32, u32) {
    let maximal = smb_access::maximal(attr, Some(dir), id, tree.read_only);
    let asked = map_access(req.desired_access, 0);
    let granted = if req.desired_access & MAXIMUM_ALLOWED != 0 { asked | maximal } else { asked };
    (granted, maximal | asked)
}

/// MS-FSA 2.1.5.1.2.1: an open of a file for DELETE (and so its delete or
/// rename) meets its streams' opens too: one without FILE_SHARE_DELETE
/// refuses it with STATUS_SHARING_VIOLATION (smbtorture
/// smb2.streams.delete). A stream's open for DELETE does not meet the
/// file's opens. The lease table keeps which streams are open, for NFS too.
pub(crate) fn streams_share_delete(cx: &Ctx<'_>, file: ObjectId) -> Result<(), u32> {
    cx.core.leases.streams_allow_delete(file).map_err(|_| status::SHARING_VIOLATION)
}

/// An overwrite or supersede of a file's unnamed stream removes its named
/// streams, as NTFS and smbd do (smbtorture smb2.streams.create-disposition);
/// while one of them is open the overwrite is a sharing violation, so no
/// open is left on a stream that is gone.
fn drop_named_streams(cx: &mut Ctx<'_>, file: ObjectId) -> Result<(), u32> {
    if cx.core.leases.has_open_streams(file) {
        return Err(status::SHARING_VIOLATION);
    }
    let now = cx.wall();
    let names = match cx.core.vfs.list_streams(file) {
        Ok(n) => n,
        Err(VfsError::NotSupported) => return Ok(()),
        Err(e) => return Err(vfs_err(e)),
    };
    for (name, _) in names {
        match cx.core.vfs.remove_stream(file, &name, now) {
            Ok(()) | Err(VfsError::NotFound) => {}
            Err(e) => return Err(vfs_err(e)),
        }
    }
    Ok(())
}

/// MS-FSA 2.1.5.1.1/2.1.5.1.2: finds or makes the target, checks the
/// session's access to it (smb/access.rs) and applies the disposition.
fn resolve(
    cx: &mut Ctx<'_>,
    tree: &crate::smb::conn::Tree,
    p: &SmbPath,
    req: &CreateRequest,
    secd: Option<&SecurityDescriptor>,
) -> Result<Target, u32> {
    let now = cx.wall();
    let dir_opt = req.options & options::DIRECTORY_FILE != 0;
    let nondir_opt = req.options & options::NON_DIRECTORY_FILE != 0;
    let id = cx.identity()?;
    let parent = path::walk_parent(&cx.core.vfs, tree.root, &p.components, &id)?;
    // A stream, the unnamed one too, is never a directory: before anything
    // is looked up, created or share-checked (smbtorture smb2.streams.dir).
    if dir_opt && (p.stream.is_some() || p.data) {
        return Err(status::NOT_A_DIRECTORY);
    }
    let parent_attr = cx.core.vfs.getattr(parent).map_err(vfs_err)?;
    let creating = |d: u32| {
        matches!(d, disposition::CREATE | disposition::OPEN_IF | disposition::OVERWRITE_IF | disposition::SUPERSEDE)
    };
    let overwriting = |d: u32| matches!(d, disposition::SUPERSEDE | disposition::OVERWRITE | disposition::OVERWRITE_IF);
    // New objects belong to the session's identity, with the share's create
    // mask; a set-group-ID directory passes its group on, as POSIX does.
    let share = tree.share.and_then(|i| cx.core.config.smb.shares.get(i));
    let (file_mode, dir_mode) = share.map_or((0o664, 0o775), |s| (s.create_mask, s.directory_mask));
    let gid = if parent_attr.mode & 0o2000 != 0 { parent_attr.gid } else { id.gid };
    // FILE_ATTRIBUTE_READONLY asked for a new file is kept as the absence
    // of write bits, as SET_INFO keeps it (MS-FSA 2.1.5.1.1: the creating
    // open keeps the access it was granted; later write opens are refused).
    let file_mode = match req.file_attributes & fscc::FILE_ATTRIBUTE_READONLY != 0 {
        true => file_mode & !0o222,
        false => file_mode,
    };
    let cattr = CreateAttr { mode: if dir_opt { dir_mode } else { file_mode }, uid: id.uid, gid };

    // The file (or the base file of a stream), and the directory it is
    // deleted from (none for the share root).
    let (base, base_dir, base_name, mut action) = match p.components.last() {
        None => (cx.core.vfs.getattr(tree.root).map_err(vfs_err)?, None, String::new(), action::OPENED),
        Some(last) => match lookup_ci(&cx.core.vfs, parent, last) {
            Ok((a, stored)) => (a, Some(parent_attr.clone()), stored, action::OPENED),
            Err(VfsError::NotFound) => {
                if !creating(req.disposition) {
                    return Err(status::OBJECT_NAME_NOT_FOUND);
                }
                // MS-FSA 2.1.5.1.1: no TEMPORARY directory, and a new
                // READONLY file cannot be deleted on close.
                if dir_opt && p.stream.is_none() && req.file_attributes & fscc::FILE_ATTRIBUTE_TEMPORARY != 0 {
                    return Err(status::INVALID_PARAMETER);
                }
                if req.file_attributes & fscc::FILE_ATTRIBUTE_READONLY != 0
                    && req.options & options::DELETE_ON_CLOSE != 0
                {
                    return Err(status::CANNOT_DELETE);
                }
                let new_dir = dir_opt && p.stream.is_none();
                if tree.read_only
                    || !crate::access::may_add_entry(&parent_attr, &id)
                    || !dacl::may_add(&cx.core.vfs, &parent_attr, &id, new_dir)
                {
                    return Err(status::ACCESS_DENIED);
                }
                crate::smb::lease::before_create(cx, req)?;
                crate::smb::lease::before_child_created(cx, req, parent)?;
                let a = match new_dir {
                    true => cx.core.vfs.mkdir(parent, last, cattr, now),
                    false => cx.core.vfs.create(parent, last, cattr, now),
                }
                .map_err(vfs_err)?;
                let a = keep_new_attributes(cx, a, req.file_attributes)?;
                if let Err(e) = new_security(cx, parent, &a, &id, secd) {
                    let _ = match new_dir {
                        true => cx.core.vfs.rmdir(parent, last, now),
                        false => cx.core.vfs.remove(parent, last, now),
                    };
                    return Err(e);
                }
                (a, Some(parent_attr.clone()), last.clone(), action::CREATED)
            }
            Err(e) => return Err(vfs_err(e)),
        },
    };
    if cx.smb.files.get(&base.id).is_some_and(|f| f.delete_pending) {
        return Err(status::DELETE_PENDING);
    }
    let Some(sname) = &p.stream else {
        let is_dir = base.kind == FileType::Directory;
        // MS-SMB2 2.2.13 (FILE_DIRECTORY_FILE): CREATE of an existing
        // name is a collision whatever its kind.
        if action == action::OPENED && req.disposition == disposition::CREATE {
            return Err(status::OBJECT_NAME_COLLISION);
        }
        // A directory has no unnamed data stream (MS-FSCC 2.1.5.3).
        if is_dir && (nondir_opt || p.data) {
            return Err(status::FILE_IS_A_DIRECTORY);
        }
        if !is_dir && dir_opt {
            return Err(status::NOT_A_DIRECTORY);
        }
        if action == action::OPENED {
            if req.disposition == disposition::CREATE {
                return Err(status::OBJECT_NAME_COLLISION);
            }
            let overwrite = overwriting(req.disposition) && !is_dir;
            let maximal = maximal_of(cx, &base, base_dir.as_ref(), &id, tree.read_only);
            let (granted, maximal) = check_existing(&base, maximal, req, overwrite, false)?;
            crate::smb::lease::after_writes(cx, base.id)?;
            crate::smb::lease::before_open(cx, req, base.id, granted, overwriting(req.disposition))?;
            cx.core.leases.check_share(base.id, granted, req.share_access).map_err(|_| status::SHARING_VIOLATION)?;
            if granted & DELETE != 0 {
                streams_share_delete(cx, base.id)?;
            }
            // A preserved durable open the breaks just closed (its client
            // cannot hear them) may have been the last of a file marked
            // delete-on-close: its SMB side goes now, and a file so deleted
            // is looked up again, as a new name (smbtorture
            // smb2.durable-open.delete_on_close1).
            crate::smb::durable::reap(cx.core, cx.smb, cx.now);
            if let Some(last) = p.components.last()
                && lookup_ci(&cx.core.vfs, parent, last).map(|(a, _)| a.id) != Ok(base.id)
            {
                return resolve(cx, tree, p, req, secd);
            }
            if overwriting(req.disposition) {
                if is_dir {
                    return Err(status::FILE_IS_A_DIRECTORY);
                }
                if tree.read_only {
                    return Err(status::ACCESS_DENIED);
                }
                // MS-FSA 2.1.5.1.2: an overwrite must ask for the HIDDEN
                // and SYSTEM the file has; the asked attributes replace the
                // old, with ARCHIVE.
                let has = fscc::file_attributes(&base);
                let hs = fscc::FILE_ATTRIBUTE_HIDDEN | fscc::FILE_ATTRIBUTE_SYSTEM;
                if has & hs & !req.file_attributes != 0 {
                    return Err(status::ACCESS_DENIED);
                }
                crate::smb::lease::before_child_created(cx, req, parent)?;
                drop_named_streams(cx, base.id)?;
                let dos = (req.file_attributes & crate::vfs::DOS_SETTABLE & !fscc::FILE_ATTRIBUTE_NOT_CONTENT_INDEXED)
                    | fscc::FILE_ATTRIBUTE_ARCHIVE;
                let set = SetAttr { size: Some(0), dos: Some(dos), ..Default::default() };
                let a = cx.core.vfs.setattr(base.id, &set, now).map_err(vfs_err)?;
                action =
                    if req.disposition == disposition::SUPERSEDE { action::SUPERSEDED } else { action::OVERWRITTEN };
                return Ok(Target { attr: a, granted, parent, name: base_name, is_stream: false, action, maximal, base: None });
            }
            return Ok(Target { attr: base, granted, parent, name: base_name, is_stream: false, action, maximal, base: None });
        }
        let (granted, maximal) = created_access(&base, &parent_attr, &id, tree, req);
        return Ok(Target { attr: base, granted, parent, name: base_name, is_stream: false, action, maximal, base: None });
    };
    // A named stream of `base`: the base file's owner and mode decide.
    if dir_opt {
        return Err(status::NOT_A_DIRECTORY);
    }
    let existing = match cx.core.vfs.stream(base.id, sname, false, now) {
        Ok(a) => Some(a),
        Err(VfsError::NotFound) => None,
        Err(e) => return Err(vfs_err(e)),
    };
    let (attr, action, granted, maximal) = match existing {
        Some(a) => {
            if req.disposition == disposition::CREATE {
                return Err(status::OBJECT_NAME_COLLISION);
            }
            if cx.smb.files.get(&a.id).is_some_and(|f| f.delete_pending) {
                return Err(status::DELETE_PENDING);
            }
            let overwrite = overwriting(req.disposition);
            let (granted, maximal) = if action == action::CREATED {
                created_access(&base, &parent_attr, &id, tree, req)
            } else {
                let maximal = maximal_of(cx, &base, base_dir.as_ref(), &id, tree.read_only);
                check_existing(&base, maximal, req, overwrite, true)?
            };
            crate::smb::lease::after_writes(cx, a.id)?;
            crate::smb::lease::before_open(cx, req, a.id, granted, overwrite)?;
            cx.core.leases.check_share(a.id, granted, req.share_access).map_err(|_| status::SHARING_VIOLATION)?;
            match overwrite {
                true => {
                    let set = SetAttr { size: Some(0), ..Default::default() };
                    let a = cx.core.vfs.setattr(a.id, &set, now).map_err(vfs_err)?;
                    let act = if req.disposition == disposition::SUPERSEDE {
                        action::SUPERSEDED
                    } else {
                        action::OVERWRITTEN
                    };
                    (a, act, granted, maximal)
                }
                false => (a, action::OPENED, granted, maximal),
            }
        }
        None => {
            if !creating(req.disposition) {
                return Err(status::OBJECT_NAME_NOT_FOUND);
            }
            if tree.read_only {
                return Err(status::ACCESS_DENIED);
            }
            // Adding a stream writes the base file.
            let (granted, maximal) = if action == action::CREATED {
                created_access(&base, &parent_attr, &id, tree, req)
            } else {
                let maximal = maximal_of(cx, &base, base_dir.as_ref(), &id, tree.read_only);
                if maximal & FILE_WRITE_DATA == 0 {
                    return Err(status::ACCESS_DENIED);
                }
                (smb_access::grant(map_access(req.desired_access, 0) | (req.desired_access & MAXIMUM_ALLOWED), maximal)?, maximal)
            };
            crate::smb::lease::before_create(cx, req)?;
            (cx.core.vfs.stream(base.id, sname, true, now).map_err(vfs_err)?, action::CREATED, granted, maximal)
        }
    };
    let base_file = base.id;
    let base = Some((parent, base_name));
    Ok(Target { attr, granted, parent: base_file, name: sname.clone(), is_stream: true, action, maximal, base })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_rights_map_to_file_rights() {
        assert_eq!(map_access(GENERIC_READ, 0), 0x0012_0089);
        assert_eq!(map_access(GENERIC_ALL, 0), 0x001F_01FF);
        assert_eq!(map_access(MAXIMUM_ALLOWED, 0x0012_00A9), 0x0012_00A9);
        assert_eq!(map_access(FILE_READ_DATA | DELETE, 0), 0x0001_0001);
    }
}
