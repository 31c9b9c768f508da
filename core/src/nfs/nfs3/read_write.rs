//! READ (RFC 1813 3.3.6), WRITE (3.3.7) and COMMIT (3.3.21).
//!
//! UNSTABLE writes are acknowledged as UNSTABLE and remembered as dirty until
//! a COMMIT syncs them; DATA_SYNC and FILE_SYNC writes are synced at once and
//! answered FILE_SYNC. The write verifier is drawn once per server from the
//! seeded generator, so a client that sees it change knows to resend.

use std::ops::Range;

use bytes::Bytes;

use super::args::StableHow;
use super::attrs::{WccAttr, encode_post_op, encode_wcc};
use super::ctx::NfsIo;
use crate::access::{R, W, X};
use super::fh::FhBytes;
use super::fsinfo::{RTMAX, WTMAX};
use super::{Ctx, Nfs3Error, Nfs3Status, NfsResult, Obj};
use crate::io::{HEADROOM, IoOp, IoResult, PoolBuf, ReadData, WriteData};
use crate::nfs::xdr::XdrWriter;
use crate::vfs::FileAttr;
use crate::vfs::FileType;

/// Regular files (and streams) only: ISDIR for directories, INVAL otherwise.
fn check_regular(o: &Obj) -> Result<(), Nfs3Status> {
    match o.attr.kind {
        FileType::Regular | FileType::Stream => Ok(()),
        FileType::Directory => Err(Nfs3Status::IsDir),
        FileType::Symlink => Err(Nfs3Status::Inval),
    }
}

/// READ, WRITE and COMMIT check the call here and leave the data work to a
/// storage request (`ctx.io`); [`io_done`] answers when it completes.
///
/// READ. Counts above RTMAX are clamped. Owners may read their own files
/// whatever the mode bits say (clients check access themselves at open), as
/// may callers with execute permission (to page in binaries).
pub(crate) fn read(ctx: &mut Ctx<'_>, fh: &FhBytes, offset: u64, count: u32) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let fail = |s: Nfs3Status| Nfs3Error::new(s).with_a(None, Some(o.attr.clone()));
    check_regular(&o).map_err(fail)?;
    if !(o.caller.uid == o.attr.uid || o.permits(&o.attr, R) || o.permits(&o.attr, X)) {
        return Err(fail(Nfs3Status::Acces));
    }
    // The data comes from a storage request; `io_done` answers.
    ctx.io = Some((IoOp::Read { object: o.id(), offset, len: count.min(RTMAX) }, NfsIo::Read { attr: o.attr.clone() }));
    Ok(())
}

/// WRITE. Counts above WTMAX, or larger than the data sent, are INVAL.
pub(crate) fn write(
    ctx: &mut Ctx<'_>,
    fh: &FhBytes,
    offset: u64,
    count: u32,
    stable: StableHow,
    data: &WriteData,
) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let pre = WccAttr::from(&o.attr);
    let fail = |s: Nfs3Status| Nfs3Error::new(s).with_a(Some(pre), Some(o.attr.clone()));
    check_regular(&o).map_err(fail)?;
    o.writable().map_err(|e| fail(e.stat))?;
    if !(o.caller.uid == o.attr.uid || o.permits(&o.attr, W)) {
        return Err(fail(Nfs3Status::Acces));
    }
    if count > WTMAX || count as usize > data.len() {
        return Err(fail(Nfs3Status::Inval));
    }
    // Data past `count` is not written (RFC 1813 3.3.7).
    let data = match data {
        WriteData::Bytes(b) => WriteData::Bytes(b.slice(..count as usize)),
        WriteData::Piped(p) => {
            let mut p = p.clone();
            p.truncate(count as usize);
            WriteData::Piped(p)
        }
    };
    let id = o.id();
    let now = ctx.wall();
    let sync = stable != StableHow::Unstable;
    if !sync {
        // Dirty before the reply can reach the client (see write_finisher).
        ctx.nfs.dirty.insert(id);
    }
    ctx.io = Some((IoOp::Write { object: id, offset, data, now, sync }, NfsIo::Write { id, pre, stable }));
    Ok(())
}

/// WRITE3resok after its status: the file's attributes before and after,
/// the count written, how it was committed (DATA_SYNC and FILE_SYNC both
/// answer FILE_SYNC: the whole file is synced) and the write verifier.
fn encode_write_ok(w: &mut XdrWriter, pre: &WccAttr, post: &FileAttr, n: usize, stable: StableHow, verf: &[u8; 8]) {
    let committed = if stable == StableHow::Unstable { StableHow::Unstable } else { StableHow::FileSync };
    w.u32(Nfs3Status::Ok as u32);
    encode_wcc(w, Some(pre), Some(post));
    w.u32(n as u32).u32(committed as u32).fixed(verf);
}

/// The finisher of a WRITE's storage request: its whole reply, record mark
/// included, built on the worker from the write's outcome, so that it
/// leaves from there (a parked WRITE a lease-break acknowledgment releases
/// is answered without another trip through the core's thread). The
/// verifier is read as the reply is framed (`NfsShared::write_verf_shared`);
/// the core still does the WRITE's bookkeeping when the completion comes
/// back. An UNSTABLE write's file counts as dirty from submission on
/// (`write`), so a COMMIT that arrives before that completion syncs it.
pub(crate) fn write_finisher(
    xid: u32,
    pre: WccAttr,
    stable: StableHow,
    verf: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> crate::io::WriteFinisher {
    Box::new(move |n, post| {
        let verf = verf.load(std::sync::atomic::Ordering::Acquire).to_be_bytes();
        let mut w = crate::nfs::rpc::accepted(xid, crate::nfs::rpc::AcceptStat::Success);
        encode_write_ok(&mut w, &pre, post, n, stable, &verf);
        crate::framing::encode_frame(crate::framing::Transport::RpcRecordMarking, w.as_slice())
    })
}

/// COMMIT: syncs the file if it was written UNSTABLE (the range is ignored:
/// the whole file is made durable); nothing to sync is answered at once.
pub(crate) fn commit(ctx: &mut Ctx<'_>, fh: &FhBytes, w: &mut XdrWriter) -> NfsResult<()> {
    let o = ctx.resolve(fh)?;
    let pre = WccAttr::from(&o.attr);
    let id = o.id();
    if ctx.nfs.dirty.contains(&id) {
        ctx.io = Some((IoOp::Sync { object: id }, NfsIo::Commit { id, pre }));
        return Ok(());
    }
    let post = ctx.attr(id);
    let verf = ctx.nfs.write_verf(&mut ctx.core.rng);
    w.u32(Nfs3Status::Ok as u32);
    encode_wcc(w, Some(&pre), post.as_ref());
    w.fixed(&verf);
    Ok(())
}

impl NfsIo {
    fn proc_no(&self) -> u32 {
        match self {
            NfsIo::Read { .. } => super::proc_::READ,
            NfsIo::Write { .. } => super::proc_::WRITE,
            NfsIo::Commit { .. } => super::proc_::COMMIT,
        }
    }
}

/// What a completed storage request answers: results appended to `w` (the
/// SUCCESS header is in it), or a READ reply framed around its data.
pub(crate) enum IoReply {
    Results,
    /// A READ reply framed around its data (`None`: the adapter wrote it,
    /// see `Core::framed_reply_done`).
    Framed(Option<Bytes>),
}

/// The second half of READ, WRITE and COMMIT once storage has answered.
pub(crate) fn io_done(
    ctx: &mut Ctx<'_>,
    xid: u32,
    kind: NfsIo,
    result: IoResult,
    framed: Option<Option<Bytes>>,
    w: &mut XdrWriter,
) -> IoReply {
    let mark = w.len();
    let proc_no = kind.proc_no();
    let r = match (kind, result) {
        (NfsIo::Read { attr }, IoResult::Read(r)) => match r {
            Ok(rd) => {
                let rd = match rd.into_framed() {
                    Ok(reply) => return IoReply::Framed(reply),
                    Err(rd) => rd,
                };
                let post = ctx.attr(attr.id).unwrap_or(attr);
                return match read_reply_in_place(xid, &post, rd) {
                    Some(framed) => IoReply::Framed(Some(framed)),
                    None => {
                        w.u32(Nfs3Status::ServerFault as u32);
                        encode_post_op(w, Some(&post));
                        IoReply::Results
                    }
                };
            }
            Err(e) => Err(Nfs3Error::new(super::status_from_vfs(&e)).with_a(None, ctx.attr(attr.id).or(Some(attr)))),
        },
        (NfsIo::Write { id, pre, stable, .. }, IoResult::Write(r)) => match r {
            Ok((n, mut post)) => {
                ctx.nfs.clear_exclusive_verf(id);
                // Dirty since submission, and again now: a COMMIT whose
                // sync ran before this write (storage orders them) has
                // cleaned the file since.
                if stable == StableHow::Unstable {
                    ctx.nfs.dirty.insert(id);
                }
                // The worker framed the reply (`write_finisher`): sent
                // from there, or to be sent now.
                if let Some(reply) = framed {
                    return IoReply::Framed(reply);
                }
                if stable != StableHow::Unstable {
                    post = ctx.attr(id).unwrap_or(post);
                }
                let verf = ctx.nfs.write_verf(&mut ctx.core.rng);
                encode_write_ok(w, &pre, &post, n, stable, &verf);
                Ok(())
            }
            Err(e) => Err(Nfs3Error::from(e).with_a(Some(pre), ctx.attr(id))),
        },
        (NfsIo::Commit { id, pre }, IoResult::Sync(r)) => match r {
            Ok(()) => {
                ctx.nfs.dirty.remove(&id);
                let post = ctx.attr(id);
                let verf = ctx.nfs.write_verf(&mut ctx.core.rng);
                w.u32(Nfs3Status::Ok as u32);
                encode_wcc(w, Some(&pre), post.as_ref());
                w.fixed(&verf);
                Ok(())
            }
            Err(e) => {
                // RFC 1813 3.3.21: what was written UNSTABLE may be lost; a
                // new verifier tells every client to send it again. (A file
                // that is gone has nothing left to lose.)
                if !matches!(e, crate::vfs::VfsError::Stale | crate::vfs::VfsError::NotFound) {
                    ctx.nfs.reset_write_verf(&mut ctx.core.rng);
                }
                Err(Nfs3Error::from(e).with_a(Some(pre), ctx.attr(id)))
            }
        },
        // A completion of another kind cannot come back for this call.
        _ => Err(Nfs3Error::new(Nfs3Status::ServerFault)),
    };
    if let Err(e) = r {
        w.truncate(mark);
        w.u32(e.stat as u32);
        super::encode_fail(proc_no, &e.fail, w);
    }
    IoReply::Results
}

/// Frames a READ3resok around its data: the record mark, RPC reply header,
/// status, post-op attributes and counts go into the buffer's headroom, the
/// XDR padding after the data, and the reply is a slice of the buffer the
/// storage read filled.
fn read_reply_in_place(xid: u32, post: &FileAttr, rd: ReadData) -> Option<Bytes> {
    let ReadData { mut buf, len, eof, .. } = rd;
    let range = frame_read_reply(&mut buf, len, eof, xid, post)?;
    Some(buf.freeze(range))
}

/// [`read_reply_in_place`] on the worker that read the data (the READ's
/// [`crate::io::ReadFinisher`]), with the attributes the call found the
/// file with as its post-op attributes: the range of the framed reply.
pub(crate) fn frame_read_reply(buf: &mut PoolBuf, len: usize, eof: bool, xid: u32, post: &FileAttr) -> Option<Range<usize>> {
    let (head, pad) = read_reply_head(len, eof, xid, post)?;
    let start = HEADROOM.checked_sub(head.len())?;
    let end = HEADROOM.checked_add(len)?.checked_add(pad)?;
    let whole = buf.as_mut_slice();
    whole.get_mut(start..HEADROOM)?.copy_from_slice(&head);
    whole.get_mut(HEADROOM + len..end)?.fill(0);
    Some(start..end)
}

/// What goes in front of a READ3resok's `len` bytes of data (record mark,
/// RPC reply header, status, post-op attributes, counts) and the count of
/// XDR padding bytes after them (the READ's [`crate::io::ReadHead`], when
/// the data is spliced).
pub(crate) fn read_reply_head(len: usize, eof: bool, xid: u32, post: &FileAttr) -> Option<(Vec<u8>, usize)> {
    let mut head = crate::nfs::rpc::accepted(xid, crate::nfs::rpc::AcceptStat::Success);
    head.u32(Nfs3Status::Ok as u32);
    encode_post_op(&mut head, Some(post));
    head.u32(u32::try_from(len).ok()?).bool(eof).u32(len as u32);
    let pad = crate::nfs::xdr::pad(len);
    let record = head.len().checked_add(len)?.checked_add(pad)?;
    let record = u32::try_from(record).ok().filter(|n| *n < 0x8000_0000)?;
    let mut out = Vec::with_capacity(4 + head.len());
    out.extend_from_slice(&(0x8000_0000 | record).to_be_bytes());
    out.extend_from_slice(head.as_slice());
    Some((out, pad))
}
