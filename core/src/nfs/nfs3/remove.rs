//! REMOVE (RFC 1813 3.3.12), RMDIR (3.3.13), RENAME (3.3.14) and LINK
//! (3.3.15).

use super::args::DirOpArgs;
use super::attrs::{encode_post_op, encode_wcc};
use super::create::{Target, target};
use super::fh::FhBytes;
use super::{Ctx, FailAttrs, Nfs3Error, Nfs3Status, NfsResult};
use crate::nfs::xdr::XdrWriter;
use crate::vfs::Vfs;
use crate::vfs::{FileAttr, FileType, ObjectId};

/// POSIX sticky directories (`access::sticky_denied`); `target` has
/// checked write and search on the directory already.
fn sticky_denied(t: &Target<'_>, victim: Option<&FileAttr>) -> bool {
    crate::access::sticky_denied(&t.dir.attr, victim, &t.dir.caller)
}

/// Forgets NFS state (dirty data, EXCLUSIVE verifier) of an object that no
/// longer exists.
fn forget_if_gone(ctx: &mut Ctx<'_>, id: Option<ObjectId>) {
    if let Some(id) = id {
        if ctx.core.vfs.getattr(id).is_err() {
            ctx.nfs.forget(id);
        }
    }
}

/// REMOVE (`dir == false`) and RMDIR (`dir == true`).
pub(crate) fn remove(ctx: &mut Ctx<'_>, d: &DirOpArgs, dir: bool, w: &mut XdrWriter) -> NfsResult<()> {
    let t = target(ctx, d)?;
    let victim = ctx.core.vfs.lookup(t.dir.id(), t.name).ok();
    if sticky_denied(&t, victim.as_ref()) {
        return Err(t.fail(ctx, Nfs3Status::Acces));
    }
    let victim = victim.map(|a| a.id);
    let now = ctx.wall();
    let r =
        if dir { ctx.core.vfs.rmdir(t.dir.id(), t.name, now) } else { ctx.core.vfs.remove(t.dir.id(), t.name, now) };
    r.map_err(|e| t.fail(ctx, e))?;
    forget_if_gone(ctx, victim);
    w.u32(Nfs3Status::Ok as u32);
    encode_wcc(w, Some(&t.pre), ctx.attr(t.dir.id()).as_ref());
    Ok(())
}

/// RENAME, replacing an existing target (a file by a file, a directory by an
/// empty directory). Directories of different exports are XDEV.
pub(crate) fn rename(ctx: &mut Ctx<'_>, from: &DirOpArgs, to: &DirOpArgs, w: &mut XdrWriter) -> NfsResult<()> {
    let f = target(ctx, from)?;
    let t = match target(ctx, to) {
        Ok(t) => t,
        Err(e) => {
            let (b_pre, b) = (e.fail.a_pre, e.fail.a);
            return Err(Nfs3Error {
                stat: e.stat,
                fail: Box::new(FailAttrs { a_pre: Some(f.pre), a: ctx.attr(f.dir.id()), b_pre, b }),
            });
        }
    };
    let fail = |ctx: &Ctx<'_>, e: Nfs3Error| {
        e.with_a(Some(f.pre), ctx.attr(f.dir.id())).with_b(Some(t.pre), ctx.attr(t.dir.id()))
    };
    if f.dir.export != t.dir.export {
        return Err(fail(ctx, Nfs3Status::XDev.into()));
    }
    let moved = ctx.core.vfs.lookup(f.dir.id(), f.name).ok();
    let replaced = ctx.core.vfs.lookup(t.dir.id(), t.name).ok();
    if sticky_denied(&f, moved.as_ref()) || sticky_denied(&t, replaced.as_ref()) {
        return Err(fail(ctx, Nfs3Status::Acces.into()));
    }
    let replaced = replaced.map(|a| a.id);
    let now = ctx.wall();
    ctx.core.vfs.rename(f.dir.id(), f.name, t.dir.id(), t.name, true, now).map_err(|e| fail(ctx, e.into()))?;
    forget_if_gone(ctx, replaced);
    w.u32(Nfs3Status::Ok as u32);
    encode_wcc(w, Some(&f.pre), ctx.attr(f.dir.id()).as_ref());
    encode_wcc(w, Some(&t.pre), ctx.attr(t.dir.id()).as_ref());
    Ok(())
}

/// LINK: a new name for a non-directory, within one export.
pub(crate) fn link(ctx: &mut Ctx<'_>, fh: &FhBytes, to: &DirOpArgs, w: &mut XdrWriter) -> NfsResult<()> {
    let file = ctx.resolve(fh)?;
    let t = target(ctx, to).map_err(|e| Nfs3Error {
        stat: e.stat,
        fail: Box::new(FailAttrs { a_pre: None, a: Some(file.attr.clone()), b_pre: e.fail.a_pre, b: e.fail.a }),
    })?;
    let fail =
        |ctx: &Ctx<'_>, e: Nfs3Error| e.with_a(None, ctx.attr(file.id())).with_b(Some(t.pre), ctx.attr(t.dir.id()));
    if file.attr.kind == FileType::Directory {
        return Err(fail(ctx, Nfs3Status::IsDir.into()));
    }
    if file.export != t.dir.export {
        return Err(fail(ctx, Nfs3Status::XDev.into()));
    }
    let now = ctx.wall();
    let post = ctx.core.vfs.link(file.id(), t.dir.id(), t.name, now).map_err(|e| fail(ctx, e.into()))?;
    w.u32(Nfs3Status::Ok as u32);
    encode_post_op(w, Some(&post));
    encode_wcc(w, Some(&t.pre), ctx.attr(t.dir.id()).as_ref());
    Ok(())
}
