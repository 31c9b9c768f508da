//! FILE_RENAME_INFORMATION with a `:name[:$DATA]` target: a named stream
//! renamed within its file (MS-FSA 2.1.5.15.12.1), as Windows does and
//! smbtorture smb2.streams.rename/rename2 ask. The stream keeps its id in
//! storage ([`Vfs::rename_stream`]), so the open renaming it, and any other
//! open of it, follow it.

use crate::lease::Operation;
use crate::smb::conn::Open;
use crate::smb::ctx::Ctx;
use crate::smb::lease;
use crate::smb::status;
use crate::time::Timespec;
use crate::vfs::{FileType, MAX_COPY, ObjectId, SetAttr, Vfs, VfsError, VfsResult, fold};

/// The stream name of a rename target `:name[:type]` (MS-FSA
/// 2.1.5.15.12.1): STATUS_INVALID_PARAMETER for a name ending in `:`, an
/// invalid stream name or none at all, STATUS_OBJECT_TYPE_MISMATCH for a
/// type other than `$DATA`. The empty name is the unnamed default stream.
fn target_name(target: &str) -> Result<&str, u32> {
    let rest = target.strip_prefix(':').ok_or(status::INVALID_PARAMETER)?;
    if target.ends_with(':') {
        return Err(status::INVALID_PARAMETER);
    }
    let (name, kind) = match rest.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (rest, None),
    };
    if name.is_empty() && kind.is_none_or(str::is_empty) {
        return Err(status::INVALID_PARAMETER);
    }
    if !name.is_empty() && (crate::vfs::check_name(name).is_err() || name.contains(':')) {
        return Err(status::INVALID_PARAMETER);
    }
    if kind.is_some_and(|t| t.contains(':')) {
        return Err(status::INVALID_PARAMETER);
    }
    if kind.is_some_and(|t| !t.eq_ignore_ascii_case("$DATA")) {
        return Err(status::OBJECT_TYPE_MISMATCH);
    }
    Ok(name)
}

/// Renames the stream `open` has open to the stream `target` names
/// (`:name`, `:name:$DATA`), replacing an existing one when `replace`
/// (MS-FSA 2.1.5.15.12.1): STATUS_OBJECT_NAME_COLLISION when it exists and
/// may not be replaced, STATUS_INVALID_PARAMETER when it is open or holds
/// data. The open's DELETE access is checked by the caller. A named stream
/// may become the unnamed one ([`into_default`]) and the unnamed one a
/// named one ([`out_of_default`]).
pub fn rename(cx: &mut Ctx<'_>, open: &Open, target: &str, replace: bool) -> Result<(), u32> {
    let Some(f) = cx.smb.files.get(&open.object).cloned() else { return Err(status::FILE_CLOSED) };
    let to = target_name(target)?;
    // A directory's own (index) stream is never renamed, and a directory
    // has no unnamed data stream to rename a stream to.
    if open.kind == FileType::Directory {
        return Err(status::INVALID_PARAMETER);
    }
    let (file, from) = match f.is_stream {
        true => (f.parent, f.name.clone()),
        false => (open.object, String::new()),
    };
    if to.is_empty() && cx.core.vfs.getattr(file).is_ok_and(|a| a.kind == FileType::Directory) {
        return Err(status::INVALID_PARAMETER);
    }
    if fold(to) == fold(&from) {
        return Ok(());
    }
    lease::begin_on(cx, open, Operation::Rename)?;
    if to.is_empty() {
        return into_default(cx, open, file, &from, replace);
    }
    check_target(cx, file, to, replace)?;
    if from.is_empty() {
        return out_of_default(cx, open, file, to);
    }
    let now = cx.wall();
    cx.core.vfs.rename_stream(file, &from, to, now).map_err(|e| status::from_vfs(&e))?;
    if let Some(f) = cx.smb.files.get_mut(&open.object) {
        f.name = to.to_string();
    }
    Ok(())
}

/// Whether the named stream `to` of `file` may be the target of a rename:
/// STATUS_OBJECT_NAME_COLLISION when it exists without `replace`,
/// STATUS_INVALID_PARAMETER when it is open or holds data.
fn check_target(cx: &Ctx<'_>, file: ObjectId, to: &str, replace: bool) -> Result<(), u32> {
    match cx.core.vfs.stream(file, to, false, cx.wall()) {
        Ok(_) if !replace => Err(status::OBJECT_NAME_COLLISION),
        Ok(t) if cx.core.leases.opens_on(t.id).next().is_some() || t.size != 0 => Err(status::INVALID_PARAMETER),
        Ok(_) | Err(VfsError::NotFound) => Ok(()),
        Err(e) => Err(status::from_vfs(&e)),
    }
}

/// The file's unnamed stream renamed to the named stream `to` (checked by
/// [`check_target`]): the data moves into the stream, the file is left
/// empty (MS-FSA 2.1.5.15.12.1: a new empty unnamed stream), and the open
/// renaming it moves to the stream (Open.Stream is the target). The spec
/// asks nothing of the file's other opens: they stay on the file, now
/// empty. A stream the backend cannot hold refuses it and changes nothing.
fn out_of_default(cx: &mut Ctx<'_>, open: &Open, file: ObjectId, to: &str) -> Result<(), u32> {
    let vfs_err = |e: VfsError| status::from_vfs(&e);
    let Some(f) = cx.smb.files.get(&file).cloned() else { return Err(status::FILE_CLOSED) };
    // The share root has no unnamed data stream to rename.
    if f.name.is_empty() {
        return Err(status::INVALID_PARAMETER);
    }
    let now = cx.wall();
    let existed = cx.core.vfs.stream(file, to, false, now).is_ok();
    let stream = cx.core.vfs.stream(file, to, true, now).map_err(vfs_err)?.id;
    let moved = copy_all(&cx.core.vfs, file, stream, now).and_then(|_| {
        let emptied = cx.core.vfs.setattr(file, &SetAttr { size: Some(0), ..Default::default() }, now);
        if emptied.is_err() {
            empty(&cx.core.vfs, stream, now);
        }
        emptied
    });
    if let Err(e) = moved {
        if !existed {
            let _ = cx.core.vfs.remove_stream(file, to, now);
        }
        return Err(vfs_err(e));
    }
    move_open(cx, open, stream);
    cx.core.leases.note_stream(stream, file);
    cx.smb.remove_open(file);
    cx.smb.add_open(stream, file, to, true);
    if let Some(s) = cx.smb.files.get_mut(&stream) {
        s.base = Some((f.parent, f.name));
    }
    if let Ok(o) = cx.open(open.file_id) {
        o.object = stream;
        o.kind = FileType::Stream;
    }
    Ok(())
}

/// A named stream renamed onto its file's unnamed stream (`::$DATA`). The
/// unnamed stream always exists, so it is a target as an existing named
/// stream is (MS-FSA 2.1.5.15.12.1; Windows answers a rename onto it
/// without ReplaceIfExists STATUS_OBJECT_NAME_COLLISION, smbtorture
/// raw.streams.rename2): ReplaceIfExists, no open of it and no data, else
/// STATUS_OBJECT_NAME_COLLISION or STATUS_INVALID_PARAMETER. The spec asks
/// nothing of the renamed stream's opens: the renaming one moves to the
/// file (Open.Stream becomes the target), without the oplock, lease share
/// and byte-range locks it held on the stream; the others keep the stream,
/// which is gone. The data is copied into the file, then the stream
/// removed.
fn into_default(cx: &mut Ctx<'_>, open: &Open, file: ObjectId, from: &str, replace: bool) -> Result<(), u32> {
    let vfs_err = |e: VfsError| status::from_vfs(&e);
    if !replace {
        return Err(status::OBJECT_NAME_COLLISION);
    }
    let fa = cx.core.vfs.getattr(file).map_err(vfs_err)?;
    if fa.size != 0 || cx.core.leases.opens_on(file).next().is_some() {
        return Err(status::INVALID_PARAMETER);
    }
    let (dir, name) = file_name(cx, open.object, file)?;
    let now = cx.wall();
    copy_all(&cx.core.vfs, open.object, file, now).map_err(vfs_err)?;
    if let Err(e) = cx.core.vfs.remove_stream(file, from, now) {
        empty(&cx.core.vfs, file, now);
        return Err(vfs_err(e));
    }
    move_open(cx, open, file);
    cx.smb.remove_open(open.object);
    cx.smb.add_open(file, dir, &name, false);
    if let Ok(o) = cx.open(open.file_id) {
        o.object = file;
        o.kind = FileType::Regular;
    }
    Ok(())
}

/// The directory and name of `file`, whose stream `stream` is open: where
/// the stream was opened, or where an SMB rename of the file since moved
/// it (smb/handlers/set_info.rs keeps the streams' `base`), or another
/// name of it in that directory. A file another protocol moved elsewhere
/// cannot be named: STATUS_FILE_RENAMED (MS-ERREF: renamed, and so not
/// modified).
fn file_name(cx: &Ctx<'_>, stream: ObjectId, file: ObjectId) -> Result<(ObjectId, String), u32> {
    let Some((dir, name)) = cx.smb.files.get(&stream).and_then(|f| f.base.clone()) else {
        return Err(status::FILE_RENAMED);
    };
    if cx.core.vfs.lookup(dir, &name).map(|a| a.id) == Ok(file) {
        return Ok((dir, name));
    }
    match cx.core.vfs.name_in(dir, file) {
        Ok(other) => Ok((dir, other)),
        Err(_) => Err(status::FILE_RENAMED),
    }
}

/// Moves `open` to `to` in the lease table ([`LeaseTable::move_open`]): a
/// lock request of it still waiting on the stream it leaves fails as on
/// a close (STATUS_RANGE_NOT_LOCKED; smb/release.rs).
///
/// [`LeaseTable::move_open`]: crate::lease::LeaseTable::move_open
fn move_open(cx: &mut Ctx<'_>, open: &Open, to: ObjectId) {
    for t in cx.core.leases.lock_waits_of(open.lease_open) {
        cx.core.leases.cancel_waiter(t);
        cx.smb.completions.push((t, lease::RANGE_NOT_LOCKED));
    }
    cx.core.leases.move_open(open.lease_open, to, cx.now);
}

/// Copies the data of `from` into the empty `to` (a file's data into one
/// of its streams or the reverse); `to` is emptied again when that fails.
fn copy_all(vfs: &impl Vfs, from: ObjectId, to: ObjectId, now: Timespec) -> VfsResult<()> {
    let size = vfs.getattr(from)?.size;
    let mut done = 0;
    let result = (|| {
        while done < size {
            let (n, _) = vfs.copy_range(from, done, to, done, (size - done).min(MAX_COPY), now)?;
            if n == 0 {
                return Err(VfsError::Io("the data ended early".into()));
            }
            done += n;
        }
        Ok(())
    })();
    if result.is_err() {
        empty(vfs, to, now);
    }
    result
}

/// Truncates `id` to nothing, undoing a copy into it (best effort).
fn empty(vfs: &impl Vfs, id: ObjectId, now: Timespec) {
    let _ = vfs.setattr(id, &SetAttr { size: Some(0), ..Default::default() }, now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_targets_parse_as_ms_fsa_says() {
        assert_eq!(target_name(":two"), Ok("two"));
        assert_eq!(target_name(":two:$DATA"), Ok("two"));
        assert_eq!(target_name(":Two:$data"), Ok("Two"));
        assert_eq!(target_name("::$DATA"), Ok(""));
        assert_eq!(target_name(":two:"), Err(status::INVALID_PARAMETER));
        assert_eq!(target_name(":"), Err(status::INVALID_PARAMETER));
        assert_eq!(target_name("::"), Err(status::INVALID_PARAMETER));
        assert_eq!(target_name(":a\\b"), Err(status::INVALID_PARAMETER));
        assert_eq!(target_name(":a:$DATA:x"), Err(status::INVALID_PARAMETER));
        assert_eq!(target_name(":two:$INDEX_ALLOCATION"), Err(status::OBJECT_TYPE_MISMATCH));
        assert_eq!(target_name("two"), Err(status::INVALID_PARAMETER));
    }
}
