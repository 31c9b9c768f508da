//! LOOKUP (RFC 1813 3.3.3) and READLINK (3.3.5).

use super::args::DirOpArgs;
use super::attrs::encode_post_op;
use crate::access::X;
use super::fh::FhBytes;
use super::{Ctx, Nfs3Error, Nfs3Status, NfsResult, check_name};
use crate::nfs::xdr::XdrWriter;
use crate::vfs::{FileType, Vfs};

/// LOOKUP. `.` is the directory itself; `..` is its parent, except at the
/// export root, which is its own parent (a client cannot climb out).
pub(crate) fn lookup(ctx: &mut Ctx<'_>, args: &DirOpArgs, w: &mut XdrWriter) -> NfsResult<()> {
    let dir = ctx.resolve_dir(&args.dir)?;
    let fail = |s: Nfs3Status| Nfs3Error::new(s).with_a(None, Some(dir.attr.clone()));
    if !dir.permits(&dir.attr, X) {
        return Err(fail(Nfs3Status::Acces));
    }
    let vfs: &dyn crate::vfs::Vfs = &ctx.core.vfs;
    let found = match args.name.as_slice() {
        b"." => Ok(dir.attr.clone()),
        b".." if ctx.export_root(dir.export) == Some(dir.id()) => Ok(dir.attr.clone()),
        b".." => vfs.parent(dir.id()).and_then(|p| vfs.getattr(p)),
        name => {
            let name = check_name(name).map_err(fail)?;
            vfs.lookup(dir.id(), name)
        }
    };
    let obj = found.map_err(|e| Nfs3Error::from(e).with_a(None, Some(dir.attr.clone())))?;
    w.u32(Nfs3Status::Ok as u32);
    dir.handle_of(&obj).encode(w);
    encode_post_op(w, Some(&obj));
    encode_post_op(w, Some(&dir.attr));
    Ok(())
}

/// READLINK: the target of a symbolic link (INVAL for other objects).
pub(crate) fn readlink(ctx: &mut Ctx<'_>, fh: &FhBytes, w: &mut XdrWriter) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let fail = |e: Nfs3Error| e.with_a(None, Some(o.attr.clone()));
    if o.attr.kind != FileType::Symlink {
        return Err(fail(Nfs3Status::Inval.into()));
    }
    let target = ctx.core.vfs.readlink(o.id()).map_err(|e| fail(e.into()))?;
    w.u32(Nfs3Status::Ok as u32);
    encode_post_op(w, Some(&o.attr));
    w.string(&target);
    Ok(())
}
