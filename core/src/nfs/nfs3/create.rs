//! CREATE (RFC 1813 3.3.8), MKDIR (3.3.9), SYMLINK (3.3.10) and MKNOD
//! (3.3.11, answered NFS3ERR_NOTSUPP).

use super::args::{CreateHow, DirOpArgs};
use super::attrs::{Sattr3, SetTime, WccAttr, encode_post_op, encode_wcc};
use crate::access::{self, W};
use super::{Ctx, Nfs3Error, Nfs3Status, NfsResult, Obj, check_name};
use crate::nfs::xdr::XdrWriter;
use crate::vfs::Vfs;
use crate::vfs::{CreateAttr, FileAttr, FileType, VfsError};

/// Longest symlink target accepted (RFC 1813 nfspath3 is unbounded).
pub const MAX_PATH_LEN: usize = 4096;

/// A directory about to get a new entry: resolved, writable, searchable.
pub(crate) struct Target<'n> {
    pub dir: Obj,
    pub pre: WccAttr,
    pub name: &'n str,
}

impl Target<'_> {
    /// A failure with the directory's wcc data, re-reading its attributes.
    pub fn fail(&self, ctx: &Ctx<'_>, e: impl Into<Nfs3Error>) -> Nfs3Error {
        e.into().with_a(Some(self.pre), ctx.attr(self.dir.id()))
    }
}

/// Resolves `where_` for a change of the directory's entries: NOTDIR, ROFS,
/// a bad name and missing write+search permission fail with wcc data.
pub(crate) fn target<'n>(ctx: &Ctx<'_>, where_: &'n DirOpArgs) -> NfsResult<Target<'n>> {
    let dir = ctx.resolve(&where_.dir)?;
    let pre = WccAttr::from(&dir.attr);
    let fail = |s: Nfs3Status| Nfs3Error::new(s).with_a(Some(pre), Some(dir.attr.clone()));
    if !dir.is_dir() {
        return Err(fail(Nfs3Status::NotDir));
    }
    dir.writable().map_err(|e| fail(e.stat))?;
    let name = check_name(&where_.name).map_err(fail)?;
    if !access::may_add_entry(&dir.attr, &dir.caller) {
        return Err(fail(Nfs3Status::Acces));
    }
    Ok(Target { dir, pre, name })
}

/// Owner and group of a new object: the caller, with the directory's group
/// when the directory is set-group-ID.
fn create_attr(t: &Target<'_>, mode: u32) -> CreateAttr {
    let gid = if t.dir.attr.mode & 0o2000 != 0 { t.dir.attr.gid } else { t.dir.caller.gid };
    CreateAttr { mode: mode & 0o7777, uid: t.dir.caller.uid, gid }
}

/// Applies what `create` did not: size, times, and (for root) owner.
fn apply_rest(ctx: &mut Ctx<'_>, t: &Target<'_>, obj: FileAttr, s: &Sattr3) -> NfsResult<FileAttr> {
    let root = t.dir.caller.is_root();
    let rest = Sattr3 {
        mode: None,
        uid: s.uid.filter(|_| root),
        gid: s.gid.filter(|_| root),
        size: s.size.filter(|_| obj.kind == FileType::Regular),
        atime: s.atime,
        mtime: s.mtime,
    };
    if rest.is_empty() {
        return Ok(obj);
    }
    let now = ctx.wall();
    ctx.core.vfs.setattr(obj.id, &rest.to_setattr(now), now).map_err(|e| t.fail(ctx, e))
}

/// The CREATE/MKDIR/SYMLINK resok: post_op_fh3, post_op_attr, dir wcc_data.
fn reply(ctx: &Ctx<'_>, t: &Target<'_>, obj: &FileAttr, w: &mut XdrWriter) {
    w.u32(Nfs3Status::Ok as u32).bool(true);
    t.dir.handle_of(obj).encode(w);
    encode_post_op(w, Some(obj));
    encode_wcc(w, Some(&t.pre), ctx.attr(t.dir.id()).as_ref());
}

/// CREATE. UNCHECKED on an existing regular file sets its attributes (a
/// truncation needs write permission); GUARDED gives EXIST; EXCLUSIVE stores
/// the verifier so that a retransmitted CREATE with the same verifier finds
/// its file and one with another verifier gets EXIST. The verifier is
/// dropped at the first WRITE or truncation: after that the same verifier
/// gets EXIST too (a second copy onto the name must not reuse the file).
pub(crate) fn create(ctx: &mut Ctx<'_>, where_: &DirOpArgs, how: &CreateHow, w: &mut XdrWriter) -> NfsResult<()> {
    let t = target(ctx, where_)?;
    let (attr, verf) = match how {
        CreateHow::Unchecked(a) | CreateHow::Guarded(a) => (*a, None),
        CreateHow::Exclusive(v) => (Sattr3::default(), Some(*v)),
    };
    let now = ctx.wall();
    let made = ctx.core.vfs.create(t.dir.id(), t.name, create_attr(&t, attr.mode.unwrap_or(0o644)), now);
    let obj = match made {
        Ok(obj) => {
            if let Some(v) = verf {
                ctx.nfs.set_exclusive_verf(obj.id, v);
            }
            apply_rest(ctx, &t, obj, &attr)?
        }
        Err(VfsError::Exists) => {
            let existing = ctx.core.vfs.lookup(t.dir.id(), t.name).map_err(|e| t.fail(ctx, e))?;
            match how {
                CreateHow::Unchecked(a) if existing.kind == FileType::Regular => {
                    if a.size.is_some() && !(existing.uid == t.dir.caller.uid || t.dir.permits(&existing, W)) {
                        return Err(t.fail(ctx, Nfs3Status::Acces));
                    }
                    let a = Sattr3 { mode: None, atime: SetTime::DontChange, mtime: SetTime::DontChange, ..*a };
                    apply_rest(ctx, &t, existing, &a)?
                }
                // A retransmission: same verifier, file untouched since (knfsd also wants size 0).
                CreateHow::Exclusive(v) if existing.size == 0 && ctx.nfs.exclusive_verf(existing.id) == Some(*v) => {
                    existing
                }
                _ => return Err(t.fail(ctx, Nfs3Status::Exist)),
            }
        }
        Err(e) => return Err(t.fail(ctx, e)),
    };
    reply(ctx, &t, &obj, w);
    Ok(())
}

pub(crate) fn mkdir(ctx: &mut Ctx<'_>, where_: &DirOpArgs, attr: &Sattr3, w: &mut XdrWriter) -> NfsResult<()> {
    let t = target(ctx, where_)?;
    let now = ctx.wall();
    let obj = ctx
        .core
        .vfs
        .mkdir(t.dir.id(), t.name, create_attr(&t, attr.mode.unwrap_or(0o755)), now)
        .map_err(|e| t.fail(ctx, e))?;
    let obj = apply_rest(ctx, &t, obj, attr)?;
    reply(ctx, &t, &obj, w);
    Ok(())
}

pub(crate) fn symlink(
    ctx: &mut Ctx<'_>,
    where_: &DirOpArgs,
    attr: &Sattr3,
    target_path: &[u8],
    w: &mut XdrWriter,
) -> NfsResult<()> {
    let t = target(ctx, where_)?;
    if target_path.len() > MAX_PATH_LEN {
        return Err(t.fail(ctx, Nfs3Status::NameTooLong));
    }
    let path = std::str::from_utf8(target_path).map_err(|_| t.fail(ctx, Nfs3Status::Inval))?;
    let now = ctx.wall();
    let obj = ctx
        .core
        .vfs
        .symlink(t.dir.id(), t.name, path, create_attr(&t, attr.mode.unwrap_or(0o777)), now)
        .map_err(|e| t.fail(ctx, e))?;
    reply(ctx, &t, &obj, w);
    Ok(())
}

/// MKNOD: special files are not supported by the Vfs.
pub(crate) fn mknod(ctx: &mut Ctx<'_>, where_: &DirOpArgs) -> NfsResult<()> {
    let t = target(ctx, where_)?;
    Err(t.fail(ctx, Nfs3Status::NotSupp))
}
