//! READDIR (RFC 1813 3.3.16) and READDIRPLUS (3.3.17).
//!
//! Cookies: 1 resumes after ".", 2 after ".."; a Vfs cookie `c` is sent as
//! `c + 2`. The Vfs keeps cookies valid while entries come and go, so the
//! cookie verifier (the Vfs dir_version) is informational: a listing resumed
//! with an old verifier continues where it was rather than failing with
//! NFS3ERR_BAD_COOKIE (Linux clients echo old verifiers, and knfsd ignores
//! them too). A cookie the Vfs refuses is NFS3ERR_BAD_COOKIE.

use super::attrs::encode_post_op;
use crate::access::R;
use super::fh::FhBytes;
use super::fsinfo::DTPREF;
use super::{Ctx, Nfs3Error, Nfs3Status, NfsResult, Obj};
use crate::nfs::xdr::{XdrWriter, pad};
use crate::vfs::{FileAttr, ObjectId, VfsError};

/// Vfs entries fetched per call to `Vfs::readdir`.
const BATCH: usize = 256;

/// The size limits of a listing reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    plus: bool,
    /// READDIRPLUS: bytes of fileid, name and cookie (0 = no limit).
    dircount: u32,
    /// Bytes of the whole READDIR3resok / READDIRPLUS3resok.
    maxcount: u32,
}

impl Sizes {
    pub fn plain(count: u32) -> Self {
        Self { plus: false, dircount: 0, maxcount: count }
    }

    pub fn plus(dircount: u32, maxcount: u32) -> Self {
        Self { plus: true, dircount, maxcount }
    }
}

/// Where the current run of entries with one cookie started in the reply.
#[derive(Debug, Clone, Copy)]
struct Run {
    cookie: u64,
    w_len: usize,
    entries: usize,
    dir_bytes: usize,
}

struct Listing<'w> {
    w: &'w mut XdrWriter,
    start: usize,
    maxcount: usize,
    dircount: usize,
    dir_bytes: usize,
    entries: usize,
    max_entries: usize,
    plus: bool,
}

impl Listing<'_> {
    /// Appends one entry if it fits; false when the reply is full.
    fn push(&mut self, dir: &Obj, id: ObjectId, name: &str, cookie: u64, attr: Option<&FileAttr>) -> bool {
        if self.entries >= self.max_entries {
            return false;
        }
        let mut e = XdrWriter::new();
        e.bool(true).u64(id).string(name).u64(cookie);
        if self.plus {
            encode_post_op(&mut e, attr);
            match attr {
                Some(a) => {
                    e.bool(true);
                    dir.handle_of(a).encode(&mut e);
                }
                None => {
                    e.bool(false);
                }
            }
        }
        let dir_len = 8 + 4 + name.len() + pad(name.len()) + 8;
        // The entry, then the list terminator and eof.
        let total = self.w.len() - self.start + e.len() + 8;
        let over_dircount = self.dircount > 0 && self.dir_bytes + dir_len > self.dircount;
        if self.entries > 0 && (total > self.maxcount || over_dircount) {
            return false;
        }
        if total > self.maxcount {
            return false;
        }
        self.w.raw(e.as_slice());
        self.dir_bytes += dir_len;
        self.entries += 1;
        true
    }
}

pub(crate) fn readdir(
    ctx: &mut Ctx<'_>,
    fh: &FhBytes,
    cookie: u64,
    _verf: [u8; 8],
    sizes: Sizes,
    w: &mut XdrWriter,
) -> NfsResult<()> {
    let dir = ctx.resolve_dir(fh)?;
    let fail = |s: Nfs3Status| Nfs3Error::new(s).with_a(None, Some(dir.attr.clone()));
    if !dir.permits(&dir.attr, R) {
        return Err(fail(Nfs3Status::Acces));
    }
    let vfs: &dyn crate::vfs::Vfs = &ctx.core.vfs;
    let verf = vfs.dir_version(dir.id()).map_err(|e| fail(super::status_from_vfs(&e)))?;
    let start = w.len();
    w.u32(Nfs3Status::Ok as u32);
    encode_post_op(w, Some(&dir.attr));
    w.u64(verf);
    let mut l = Listing {
        w,
        start,
        maxcount: sizes.maxcount.min(DTPREF) as usize,
        dircount: sizes.dircount as usize,
        dir_bytes: 0,
        entries: 0,
        max_entries: ctx.core.config.limits.max_dir_entries.max(1),
        plus: sizes.plus,
    };
    let attr = |id: ObjectId| if sizes.plus { vfs.getattr(id).ok() } else { None };
    let mut full = false;
    if cookie == 0 {
        full = !l.push(&dir, dir.id(), ".", 1, attr(dir.id()).as_ref());
    }
    if !full && cookie <= 1 {
        let parent = if ctx.export_root(dir.export) == Some(dir.id()) {
            dir.id()
        } else {
            vfs.parent(dir.id()).unwrap_or(dir.id())
        };
        full = !l.push(&dir, parent, "..", 2, attr(parent).as_ref());
    }
    let mut eof = false;
    let mut vcookie = cookie.saturating_sub(2);
    let mut run = Run { cookie: vcookie, w_len: l.w.len(), entries: l.entries, dir_bytes: l.dir_bytes };
    while !full {
        let (batch, complete) = match vfs.readdir(dir.id(), vcookie, BATCH) {
            Ok(b) => b,
            Err(VfsError::Invalid | VfsError::NotFound) if vcookie != 0 => {
                return Err(fail(Nfs3Status::BadCookie));
            }
            Err(e) => return Err(Nfs3Error::from(e).with_a(None, Some(dir.attr.clone()))),
        };
        for e in &batch {
            if e.cookie != run.cookie {
                run = Run { cookie: e.cookie, w_len: l.w.len(), entries: l.entries, dir_bytes: l.dir_bytes };
            }
            if !l.push(&dir, e.id, &e.name, e.cookie.saturating_add(2), attr(e.id).as_ref()) {
                full = true;
                // Entries sharing a cookie (hard links in LocalFs) go on one
                // page: a client resuming after the cookie would miss the rest.
                if e.cookie == vcookie && run.entries > 0 {
                    l.w.truncate(run.w_len);
                    l.entries = run.entries;
                    l.dir_bytes = run.dir_bytes;
                }
                break;
            }
            vcookie = e.cookie;
        }
        if !full && (complete || batch.is_empty()) {
            eof = true;
            break;
        }
    }
    if l.entries == 0 && !eof {
        return Err(fail(Nfs3Status::TooSmall));
    }
    l.w.bool(false).bool(eof);
    Ok(())
}
