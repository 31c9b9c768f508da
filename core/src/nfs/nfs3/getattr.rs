//! GETATTR (RFC 1813 3.3.1), SETATTR (3.3.2) and ACCESS (3.3.4).

use super::attrs::{Sattr3, SetTime, WccAttr, encode_fattr3, encode_post_op, encode_wcc};
use crate::access::{self, R, W, X};
use super::fh::FhBytes;
use super::{Ctx, Nfs3Error, Nfs3Status, NfsResult};
use crate::nfs::xdr::XdrWriter;
use crate::time::Timespec;
use crate::vfs::FileType;
use crate::vfs::Vfs;

/// RFC 1813 3.3.4: ACCESS bits.
pub const ACCESS3_READ: u32 = 0x0001;
pub const ACCESS3_LOOKUP: u32 = 0x0002;
pub const ACCESS3_MODIFY: u32 = 0x0004;
pub const ACCESS3_EXTEND: u32 = 0x0008;
pub const ACCESS3_DELETE: u32 = 0x0010;
pub const ACCESS3_EXECUTE: u32 = 0x0020;

pub(crate) fn getattr(ctx: &mut Ctx<'_>, fh: &FhBytes, w: &mut XdrWriter) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    w.u32(Nfs3Status::Ok as u32);
    encode_fattr3(w, &o.attr);
    Ok(())
}

/// RFC 1813 3.3.2: SETATTR, with the ctime guard (NOT_SYNC on mismatch).
/// Mode and time changes need the owner (or root); owner changes need root;
/// group changes need root or an owner in the new group; size needs write
/// permission (or ownership).
pub(crate) fn setattr(
    ctx: &mut Ctx<'_>,
    fh: &FhBytes,
    set: &Sattr3,
    guard: Option<Timespec>,
    w: &mut XdrWriter,
) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let a = &o.attr;
    let pre = WccAttr::from(a);
    let fail = |s: Nfs3Status| Nfs3Error::new(s).with_a(Some(pre), Some(a.clone()));
    if guard.is_some_and(|t| t != a.ctime) {
        return Err(fail(Nfs3Status::NotSync));
    }
    o.writable().map_err(|e| fail(e.stat))?;
    let c = &o.caller;
    let owner = access::may_chmod(a, c);
    if set.mode.is_some() && !owner {
        return Err(fail(Nfs3Status::Perm));
    }
    if set.uid.is_some_and(|u| !access::may_chown(a, c, u)) {
        return Err(fail(Nfs3Status::Perm));
    }
    if set.gid.is_some_and(|g| !access::may_chgrp(a, c, g)) {
        return Err(fail(Nfs3Status::Perm));
    }
    if set.size.is_some() {
        match a.kind {
            FileType::Directory => return Err(fail(Nfs3Status::IsDir)),
            FileType::Symlink => return Err(fail(Nfs3Status::Inval)),
            _ => {}
        }
        if !(owner || o.permits(a, W)) {
            return Err(fail(Nfs3Status::Acces));
        }
    }
    let explicit_time = matches!(set.atime, SetTime::ClientTime(_)) || matches!(set.mtime, SetTime::ClientTime(_));
    let any_time = set.atime != SetTime::DontChange || set.mtime != SetTime::DontChange;
    if any_time && !access::may_set_times(a, c, explicit_time) {
        return Err(fail(Nfs3Status::Perm));
    }
    let now = ctx.wall();
    let post = if set.is_empty() {
        a.clone()
    } else {
        let id = o.id();
        ctx.core
            .vfs
            .setattr(id, &set.to_setattr(now), now)
            .map_err(|e| Nfs3Error::from(e).with_a(Some(pre), ctx.attr(id)))?
    };
    w.u32(Nfs3Status::Ok as u32);
    encode_wcc(w, Some(&pre), Some(&post));
    Ok(())
}

/// RFC 1813 3.3.4: the requested bits the caller holds, from mode bits.
pub(crate) fn access(ctx: &mut Ctx<'_>, fh: &FhBytes, want: u32, w: &mut XdrWriter) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let a = &o.attr;
    let dir = o.is_dir();
    let mut granted = 0;
    if o.permits(a, R) {
        granted |= ACCESS3_READ;
    }
    if !o.read_only && o.permits(a, W) {
        granted |= ACCESS3_MODIFY | ACCESS3_EXTEND;
        if dir {
            granted |= ACCESS3_DELETE;
        }
    }
    if o.permits(a, X) {
        granted |= if dir { ACCESS3_LOOKUP } else { ACCESS3_EXECUTE };
    }
    w.u32(Nfs3Status::Ok as u32);
    encode_post_op(w, Some(a));
    w.u32(want & granted);
    Ok(())
}
