//! READ (RFC 1813 3.3.6), WRITE (3.3.7) and COMMIT (3.3.21).
//!
//! UNSTABLE writes are acknowledged as UNSTABLE and remembered as dirty until
//! a COMMIT syncs them; DATA_SYNC and FILE_SYNC writes are synced at once and
//! answered FILE_SYNC. The write verifier is drawn once per server from the
//! seeded generator, so a client that sees it change knows to resend.

use super::args::StableHow;
use super::attrs::{WccAttr, encode_post_op, encode_wcc};
use super::export::{R, W, X};
use super::fh::FhBytes;
use super::fsinfo::{RTMAX, WTMAX};
use super::{Ctx, Nfs3Error, Nfs3Status, NfsResult, Obj};
use crate::nfs::NfsShared;
use crate::nfs::xdr::XdrWriter;
use crate::vfs::FileType;
use crate::vfs::Vfs;

/// Regular files (and streams) only: ISDIR for directories, INVAL otherwise.
fn check_regular(o: &Obj) -> Result<(), Nfs3Status> {
    match o.attr.kind {
        FileType::Regular | FileType::Stream => Ok(()),
        FileType::Directory => Err(Nfs3Status::IsDir),
        FileType::Symlink => Err(Nfs3Status::Inval),
    }
}

/// READ. Counts above RTMAX are clamped. Owners may read their own files
/// whatever the mode bits say (clients check access themselves at open), as
/// may callers with execute permission (to page in binaries).
pub(crate) fn read(ctx: &mut Ctx<'_>, fh: &FhBytes, offset: u64, count: u32, w: &mut XdrWriter) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let fail = |s: Nfs3Status| Nfs3Error::new(s).with_a(None, Some(o.attr.clone()));
    check_regular(&o).map_err(fail)?;
    if !(o.caller.uid == o.attr.uid || o.permits(&o.attr, R) || o.permits(&o.attr, X)) {
        return Err(fail(Nfs3Status::Acces));
    }
    let (data, eof) =
        ctx.core.vfs.read(o.id(), offset, count.min(RTMAX)).map_err(|e| fail(super::status_from_vfs(&e)))?;
    let post = ctx.attr(o.id()).unwrap_or(o.attr.clone());
    w.u32(Nfs3Status::Ok as u32);
    encode_post_op(w, Some(&post));
    w.u32(data.len() as u32).bool(eof).opaque(&data);
    Ok(())
}

/// WRITE. Counts above WTMAX, or larger than the data sent, are INVAL.
pub(crate) fn write(
    ctx: &mut Ctx<'_>,
    fh: &FhBytes,
    offset: u64,
    count: u32,
    stable: StableHow,
    data: &[u8],
    w: &mut XdrWriter,
) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let pre = WccAttr::from(&o.attr);
    let fail = |s: Nfs3Status| Nfs3Error::new(s).with_a(Some(pre), Some(o.attr.clone()));
    check_regular(&o).map_err(fail)?;
    o.writable().map_err(|e| fail(e.stat))?;
    if !(o.caller.uid == o.attr.uid || o.permits(&o.attr, W)) {
        return Err(fail(Nfs3Status::Acces));
    }
    let data = data.get(..count as usize).filter(|_| count <= WTMAX).ok_or_else(|| fail(Nfs3Status::Inval))?;
    let id = o.id();
    let now = ctx.wall();
    let mut post =
        ctx.core.vfs.write(id, offset, data, now).map_err(|e| Nfs3Error::from(e).with_a(Some(pre), ctx.attr(id)))?;
    ctx.core.nfs.clear_exclusive_verf(id);
    let committed = match stable {
        StableHow::Unstable => {
            ctx.core.nfs.dirty.insert(id);
            StableHow::Unstable
        }
        StableHow::DataSync | StableHow::FileSync => {
            ctx.core.vfs.sync(id).map_err(|e| Nfs3Error::from(e).with_a(Some(pre), ctx.attr(id)))?;
            ctx.core.nfs.dirty.remove(&id);
            post = ctx.attr(id).unwrap_or(post);
            StableHow::FileSync
        }
    };
    let verf = NfsShared::write_verf(ctx.core);
    w.u32(Nfs3Status::Ok as u32);
    encode_wcc(w, Some(&pre), Some(&post));
    w.u32(data.len() as u32).u32(committed as u32).fixed(&verf);
    Ok(())
}

/// COMMIT: syncs the file if it was written UNSTABLE (the range is ignored:
/// the whole file is made durable).
pub(crate) fn commit(ctx: &mut Ctx<'_>, fh: &FhBytes, w: &mut XdrWriter) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let pre = WccAttr::from(&o.attr);
    let id = o.id();
    if ctx.core.nfs.dirty.contains(&id) {
        ctx.core.vfs.sync(id).map_err(|e| Nfs3Error::from(e).with_a(Some(pre), ctx.attr(id)))?;
        ctx.core.nfs.dirty.remove(&id);
    }
    let post = ctx.attr(id);
    let verf = NfsShared::write_verf(ctx.core);
    w.u32(Nfs3Status::Ok as u32);
    encode_wcc(w, Some(&pre), post.as_ref());
    w.fixed(&verf);
    Ok(())
}
