//! FSSTAT (RFC 1813 3.3.18), FSINFO (3.3.19) and PATHCONF (3.3.20).

use super::attrs::encode_post_op;
use super::fh::FhBytes;
use super::{Ctx, Nfs3Error, Nfs3Status, NfsResult};
use crate::nfs::xdr::XdrWriter;
use crate::vfs::MAX_NAME_LEN;
use crate::vfs::Vfs;

/// Largest READ and WRITE count (1 MiB); READs above it are clamped, WRITEs
/// refused with NFS3ERR_INVAL.
pub const RTMAX: u32 = 1024 * 1024;
pub const WTMAX: u32 = 1024 * 1024;
/// Preferred READDIR size, and the cap on READDIR count / READDIRPLUS maxcount.
pub const DTPREF: u32 = 1024 * 1024;
/// RFC 1813 3.3.19 properties.
pub const FSF3_LINK: u32 = 0x0001;
pub const FSF3_SYMLINK: u32 = 0x0002;
pub const FSF3_HOMOGENEOUS: u32 = 0x0008;
pub const FSF3_CANSETTIME: u32 = 0x0010;

pub(crate) fn fsstat(ctx: &mut Ctx<'_>, fh: &FhBytes, w: &mut XdrWriter) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let s = ctx.core.vfs.fsstat().map_err(|e| Nfs3Error::from(e).with_a(None, Some(o.attr.clone())))?;
    w.u32(Nfs3Status::Ok as u32);
    encode_post_op(w, Some(&o.attr));
    w.u64(s.total_bytes).u64(s.free_bytes).u64(s.avail_bytes);
    w.u64(s.total_files).u64(s.free_files).u64(s.free_files);
    // invarsec: the figures may change at any time.
    w.u32(0);
    Ok(())
}

pub(crate) fn fsinfo(ctx: &mut Ctx<'_>, fh: &FhBytes, w: &mut XdrWriter) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    w.u32(Nfs3Status::Ok as u32);
    encode_post_op(w, Some(&o.attr));
    // rtmax, rtpref, rtmult, wtmax, wtpref, wtmult, dtpref
    w.u32(RTMAX).u32(RTMAX).u32(4096).u32(WTMAX).u32(WTMAX).u32(4096).u32(DTPREF);
    // maxfilesize, time_delta (1 ns), properties
    w.u64(i64::MAX as u64).u32(0).u32(1);
    w.u32(FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME);
    Ok(())
}

pub(crate) fn pathconf(ctx: &mut Ctx<'_>, fh: &FhBytes, w: &mut XdrWriter) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    w.u32(Nfs3Status::Ok as u32);
    encode_post_op(w, Some(&o.attr));
    // linkmax, name_max, no_trunc, chown_restricted, case_insensitive, case_preserving
    w.u32(u32::MAX).u32(MAX_NAME_LEN as u32).bool(true).bool(true).bool(false).bool(true);
    Ok(())
}
