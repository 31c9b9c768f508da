//! NFS version 3 (RFC 1813 3): status codes, the call context (export,
//! credentials, permission checks), dispatch of the 22 procedures and the
//! failure bodies every procedure returns with a non-OK status.
//!
//! Choices where the RFC leaves room:
//! - A client address the handle's export does not allow gets NFS3ERR_ACCES
//!   (an nfsstat3 keeps the RPC layer export-agnostic, as MNT3ERR_ACCES does
//!   for MOUNT); AUTH_NONE and unknown uids map through the export's squash.
//! - Permission checks use the mode bits and the squashed AUTH_SYS identity;
//!   uid 0 bypasses them unless squashed. Owners may READ and WRITE their own
//!   files whatever the mode (clients check at open, as knfsd allows).
//! - Read-only exports answer NFS3ERR_ROFS to SETATTR, WRITE, CREATE, MKDIR,
//!   SYMLINK, MKNOD, REMOVE, RMDIR, RENAME and LINK.
//! - Every call passes [`lease::before_op`] with the lease operations it
//!   performs; a call the hook parks is stored decoded and run again by
//!   `nfs::resume`.
//! - Handles name an export and an object, and are honoured only when the
//!   object lies beneath that export's root ([`handle`]; NFS3ERR_STALE
//!   otherwise, like knfsd with `subtree_check`).
//! - A `secure` export answers NFS3ERR_PERM to every call with a handle of
//!   it from a source port >= 1024, as knfsd does (fh_verify); MNT answers
//!   MNT3ERR_ACCES, as rpc.mountd does. NULL carries no handle and passes.

use std::time::Instant;

use super::conn::{Answer, NfsConnection, ParkedCall};
use super::rpc::{AcceptStat, CallHeader, Credentials};
use super::shared::NfsShared;
use super::xdr::{XdrReader, XdrWriter};
use crate::common::Core;

pub mod args;
pub mod attrs;
pub mod create;
pub(crate) mod ctx;
pub mod export;
pub mod fh;
pub mod fsinfo;
pub mod getattr;
pub(crate) mod handle;
pub mod lease;
pub mod lookup;
pub mod read_write;
pub mod readdir;
pub mod remove;
mod status;

use args::{ArgsError, Nfs3Args};
use ctx::NfsIo;

pub(crate) use ctx::{Ctx, Obj};
pub(crate) use status::encode_fail;
pub use status::{FailAttrs, Nfs3Error, Nfs3Status, NfsResult, VERSION, check_name, proc_, status_from_vfs};

/// Decodes one NFSv3 call's arguments.
pub(crate) fn decode_call(
    hdr: &CallHeader,
    cred: Credentials,
    r: &mut XdrReader<'_>,
    payload: Option<crate::splice::PipedData>,
) -> Result<ParkedCall, AcceptStat> {
    let args = Nfs3Args::decode_with(hdr.proc_, r, payload).map_err(|e| match e {
        ArgsError::ProcUnavail => AcceptStat::ProcUnavail,
        ArgsError::Garbage(_) => AcceptStat::GarbageArgs,
    })?;
    Ok(ParkedCall { xid: hdr.xid, cred, args })
}

/// Runs a decoded call: asks the lease hook first, then either parks the
/// call, answers NFS3ERR_JUKEBOX or executes it.
pub(crate) fn run(
    core: &mut Core,
    shared: &mut NfsShared,
    conn: &mut NfsConnection,
    call: ParkedCall,
    w: &mut XdrWriter,
    now: Instant,
) -> Answer {
    let passed = lease::checked_handle(core, conn.peer, &call.args);
    match lease::before_op(core, shared, conn, &call.args, passed.as_ref(), now) {
        lease::Proceed::Now => {}
        // RFC 1813 2.6: the client retries later.
        lease::Proceed::Jukebox => {
            core.stats.nfs_jukebox += 1;
            w.u32(Nfs3Status::Jukebox as u32);
            encode_fail(call.args.proc_no(), &FailAttrs::default(), w);
            return Answer::Results;
        }
        // An SMB open's share mode refuses the call (docs/WINDOWS-SEMANTICS.md).
        lease::Proceed::Refuse => {
            w.u32(Nfs3Status::Acces as u32);
            encode_fail(call.args.proc_no(), &FailAttrs::default(), w);
            return Answer::Results;
        }
        lease::Proceed::Park(op) => {
            shared.parked += 1;
            conn.park(op, call);
            return Answer::Parked;
        }
    }
    let mut ctx = Ctx { core, nfs: shared, peer: conn.peer, cred: &call.cred, now, io: None, passed };
    execute(&mut ctx, &call.args, w);
    if let Some((io, kind)) = ctx.io.take() {
        let token = crate::id::WaitToken { conn: conn.id, op: conn.reserve_op() };
        core.submit_io(token, io);
        // The worker frames the reply: around the data it read, or from
        // the write's outcome.
        match &kind {
            NfsIo::Read { attr } => {
                let (xid, attr) = (call.xid, attr.clone());
                let head_attr = attr.clone();
                core.io.attach_finisher(
                    token,
                    Box::new(move |buf, len, eof| read_write::frame_read_reply(buf, len, eof, xid, &attr)),
                    Some(Box::new(move |len, eof| read_write::read_reply_head(len, eof, xid, &head_attr))),
                );
            }
            NfsIo::Write { pre, stable, .. } => {
                let verf = shared.write_verf_shared(&mut core.rng);
                core.io.attach_write_finisher(token, read_write::write_finisher(call.xid, *pre, *stable, verf));
            }
            NfsIo::Commit { .. } => {}
        }
        conn.wait_io(token.op, call.xid, kind);
        return Answer::Parked;
    }
    Answer::Results
}

/// Executes one procedure and appends its nfsstat3 and results.
pub(crate) fn execute(ctx: &mut Ctx<'_>, args: &Nfs3Args, w: &mut XdrWriter) {
    let mark = w.len();
    let r = match args {
        Nfs3Args::Null => Ok(()),
        Nfs3Args::Getattr(fh) => getattr::getattr(ctx, fh, w),
        Nfs3Args::Setattr { fh, attr, guard } => getattr::setattr(ctx, fh, attr, *guard, w),
        Nfs3Args::Lookup(d) => lookup::lookup(ctx, d, w),
        Nfs3Args::Access { fh, access } => getattr::access(ctx, fh, *access, w),
        Nfs3Args::Readlink(fh) => lookup::readlink(ctx, fh, w),
        Nfs3Args::Read { fh, offset, count } => read_write::read(ctx, fh, *offset, *count),
        Nfs3Args::Write { fh, offset, count, stable, data } => {
            read_write::write(ctx, fh, *offset, *count, *stable, data)
        }
        Nfs3Args::Create { where_, how } => create::create(ctx, where_, how, w),
        Nfs3Args::Mkdir { where_, attr } => create::mkdir(ctx, where_, attr, w),
        Nfs3Args::Symlink { where_, attr, target } => create::symlink(ctx, where_, attr, target, w),
        Nfs3Args::Mknod { where_, .. } => create::mknod(ctx, where_),
        Nfs3Args::Remove(d) => remove::remove(ctx, d, false, w),
        Nfs3Args::Rmdir(d) => remove::remove(ctx, d, true, w),
        Nfs3Args::Rename { from, to } => remove::rename(ctx, from, to, w),
        Nfs3Args::Link { fh, link } => remove::link(ctx, fh, link, w),
        Nfs3Args::Readdir { fh, cookie, verf, count } => {
            readdir::readdir(ctx, fh, *cookie, *verf, readdir::Sizes::plain(*count), w)
        }
        Nfs3Args::Readdirplus { fh, cookie, verf, dircount, maxcount } => {
            readdir::readdir(ctx, fh, *cookie, *verf, readdir::Sizes::plus(*dircount, *maxcount), w)
        }
        Nfs3Args::Fsstat(fh) => fsinfo::fsstat(ctx, fh, w),
        Nfs3Args::Fsinfo(fh) => fsinfo::fsinfo(ctx, fh, w),
        Nfs3Args::Pathconf(fh) => fsinfo::pathconf(ctx, fh, w),
        Nfs3Args::Commit { fh, .. } => read_write::commit(ctx, fh, w),
    };
    if let Err(e) = r {
        tracing::debug!(proc_no = args.proc_no(), stat = ?e.stat, "NFS call failed");
        w.truncate(mark);
        w.u32(e.stat as u32);
        encode_fail(args.proc_no(), &e.fail, w);
    }
}
