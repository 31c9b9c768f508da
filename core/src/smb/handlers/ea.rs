//! Extended attributes over SMB: QUERY_INFO and SET_INFO of
//! FileFullEaInformation (MS-SMB2 3.3.5.20.1, 3.3.5.21.1; MS-FSA
//! 2.1.5.12.12, 2.1.5.15.6), the "ExtA" create context (MS-SMB2
//! 2.2.13.2.1), and the EaSize the information classes report. The EAs
//! themselves live in the Vfs (`Vfs::eas`, `Vfs::set_ea`).
//!
//! Names are matched ignoring (ASCII) case and answered upper-cased, as
//! Windows (NTFS) keeps them (smbtorture smb2.ea: "Windows capitalizes
//! returned EA names"); an EA set over SMB is stored under its upper-cased
//! name. One stored in another case (by smbd, which keeps the case a
//! client sent, or by hand) is still found and shown upper-cased; it is
//! stored anew, upper-cased, only when a client sets or removes it. An EA
//! reached through a stream open is its file's. Flags (FILE_NEED_EA) are
//! not kept.

use crate::smb::conn::Open;
use crate::smb::ctx::{Ctx, HandlerResult, Outcome};
use crate::smb::fscc::ea::{self, EaEntry, EaFill};
use crate::smb::fscc::{self, InfoError};
use crate::smb::status;
use crate::smb::wire::codec::to_vec;
use crate::smb::wire::query::{QueryInfoRequest, encode_output_buffer_response};
use crate::time::Timespec;
use crate::vfs::{FileType, ObjectId, SetAttr, Vfs};

/// QUERY_INFO Flags for FileFullEaInformation (MS-SMB2 2.2.37).
const SL_RESTART_SCAN: u32 = 0x1;
const SL_RETURN_SINGLE_ENTRY: u32 = 0x2;
const SL_INDEX_SPECIFIED: u32 = 0x4;

/// The object whose EAs `object` reaches: a stream's are its file's.
pub fn owner_of(cx: &Ctx<'_>, object: ObjectId) -> ObjectId {
    match cx.smb.files.get(&object) {
        Some(f) if f.is_stream => f.parent,
        _ => object,
    }
}

/// The EAs of `id` as stored, names in the case they were stored with,
/// that SMB shows: those with names MS-FSCC allows (a POSIX attribute
/// named otherwise stays out, as smbd leaves it out) and values
/// EaValueLength can carry (a Linux attribute may hold one byte more).
fn stored_eas(vfs: &(impl Vfs + ?Sized), id: ObjectId) -> Vec<(String, Vec<u8>)> {
    let mut eas = vfs.eas(id).unwrap_or_default();
    eas.retain(|(name, value)| {
        ea::valid_ea_name(name.as_bytes()) && !value.is_empty() && value.len() <= usize::from(u16::MAX)
    });
    eas
}

/// The EAs of `id` as SMB shows them: names upper-cased, as NTFS answers
/// them, one EA per name ignoring case (of stored names differing only in
/// case, the first listed).
pub fn eas_of(vfs: &(impl Vfs + ?Sized), id: ObjectId) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, value) in stored_eas(vfs, id) {
        let name = name.to_ascii_uppercase();
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, value));
        }
    }
    out
}

/// EaSize of `id` for FileEaInformation, FileAllInformation and directory
/// entries.
pub fn ea_size(vfs: &(impl Vfs + ?Sized), id: ObjectId) -> u32 {
    ea::ea_size(eas_of(vfs, id).iter().map(|(n, v)| (n.as_str(), &v[..])))
}

/// Applies `entries` to the EAs of `id` in order (MS-FSA 2.1.5.15.6): an
/// entry replaces the EA of its name (any case), or removes it when its
/// value is empty. The whole set is checked against the 64 KiB - 5 limit
/// first (STATUS_EA_TOO_LARGE), so nothing is written when it fails. With
/// `replace`, the EAs not named go too (an overwrite's ExtA, MS-FSA
/// 2.1.5.1.2.1). An EA an entry names is stored under its upper-cased
/// name, every stored name of it in another case removed; the EAs no
/// entry names are left as stored.
pub fn apply(
    vfs: &(impl Vfs + ?Sized),
    id: ObjectId,
    entries: &[EaEntry],
    replace: bool,
    now: Timespec,
) -> Result<(), u32> {
    let stored = stored_eas(vfs, id);
    let shown = eas_of(vfs, id);
    let mut new = if replace { Vec::new() } else { shown.clone() };
    let mut named: Vec<String> = Vec::new();
    for e in entries {
        let name = e.name.to_ascii_uppercase();
        new.retain(|(n, _)| *n != name);
        if !e.value.is_empty() {
            new.push((name.clone(), e.value.clone()));
        }
        named.push(name);
    }
    if ea::packed_size(new.iter().map(|(n, v)| (n.as_str(), &v[..]))) > ea::MAX_EA_SET {
        return Err(status::EA_TOO_LARGE);
    }
    let vfs_err = |e: crate::vfs::VfsError| status::from_vfs(&e);
    for (name, value) in new.iter().filter(|(n, _)| named.contains(n)) {
        let variants = stored.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
        if !variants.clone().any(|(n, v)| n == name && v == value) {
            vfs.set_ea(id, name, value, now).map_err(vfs_err)?;
        }
        for (other, _) in variants.filter(|(n, _)| n != name) {
            vfs.set_ea(id, other, &[], now).map_err(vfs_err)?;
        }
    }
    for (name, _) in stored.iter().filter(|(n, _)| !new.iter().any(|(m, _)| m.eq_ignore_ascii_case(n))) {
        vfs.set_ea(id, name, &[], now).map_err(vfs_err)?;
    }
    Ok(())
}

/// SET_INFO FileFullEaInformation (MS-FSA 2.1.5.15.6): a reparse point
/// (a symlink) keeps none (STATUS_EAS_NOT_SUPPORTED); the file's ARCHIVE
/// is set where a kept set lacks it.
pub fn set(cx: &mut Ctx<'_>, open: &Open, entries: &[EaEntry]) -> Result<(), u32> {
    let id = owner_of(cx, open.object);
    let vfs_err = |e: crate::vfs::VfsError| status::from_vfs(&e);
    let attr = cx.core.vfs.getattr(id).map_err(vfs_err)?;
    if attr.kind == FileType::Symlink {
        return Err(status::EAS_NOT_SUPPORTED);
    }
    let now = cx.wall();
    apply(&cx.core.vfs, id, entries, false, now)?;
    if let Some(dos) = attr.dos.filter(|d| d & fscc::FILE_ATTRIBUTE_ARCHIVE == 0) {
        let set = SetAttr { dos: Some(dos | fscc::FILE_ATTRIBUTE_ARCHIVE), ..Default::default() };
        cx.core.vfs.setattr(id, &set, now).map_err(vfs_err)?;
    }
    Ok(())
}

/// QUERY_INFO FileFullEaInformation (MS-SMB2 3.3.5.20.1, MS-FSA
/// 2.1.5.12.12): the EAs named in the request's FILE_GET_EA_INFORMATION
/// list (one not set comes back with an empty value, as Windows answers
/// it), or from the EaIndex in AdditionalInformation (SL_INDEX_SPECIFIED,
/// 1-based), or from where the last query on this open stopped
/// (Open.CurrentEaIndex; SL_RESTART_SCAN starts again). Whole entries
/// only: STATUS_BUFFER_OVERFLOW when some did not fit,
/// STATUS_BUFFER_TOO_SMALL when none did; SL_RETURN_SINGLE_ENTRY returns
/// one. STATUS_NO_EAS_ON_FILE for a file with none, STATUS_NO_MORE_EAS
/// when the enumeration is at its end.
pub fn query(cx: &mut Ctx<'_>, open: &Open, req: &QueryInfoRequest) -> HandlerResult {
    let id = owner_of(cx, open.object);
    let eas = eas_of(&cx.core.vfs, id);
    if eas.is_empty() {
        return Err(status::NO_EAS_ON_FILE);
    }
    let named = !req.input.is_empty();
    let (list, start) = if named {
        let names = ea::decode_get_ea_list(&req.input).map_err(|e: InfoError| e.status())?;
        let list = names
            .into_iter()
            .map(|name| match eas.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                Some(found) => found.clone(),
                None => (name, Vec::new()),
            })
            .collect();
        (list, 0)
    } else if req.flags & SL_INDEX_SPECIFIED != 0 {
        let index = req.additional_information as usize;
        if index == 0 || index > eas.len() {
            return Err(status::NONEXISTENT_EA_ENTRY);
        }
        (eas, index - 1)
    } else {
        let start = if req.flags & SL_RESTART_SCAN != 0 { 0 } else { open.next_ea as usize };
        if start >= eas.len() {
            return Err(status::NO_MORE_EAS);
        }
        (eas, start)
    };
    let take = if req.flags & SL_RETURN_SINGLE_ENTRY != 0 { 1 } else { usize::MAX };
    let mut out = Vec::new();
    let items = list[start..].iter().take(take).map(|(n, v)| (n.as_str(), &v[..]));
    let (status, returned) = match ea::encode_full_ea_list(items, req.output_length as usize, &mut out) {
        EaFill::None => return Err(status::BUFFER_TOO_SMALL),
        EaFill::Some(n) => (status::BUFFER_OVERFLOW, n),
        EaFill::All => (status::SUCCESS, (list.len() - start).min(take)),
    };
    if !named {
        if let Ok(o) = cx.open(req.file_id) {
            o.next_ea = (start + returned) as u32;
        }
    }
    Ok(Outcome::Reply { status, body: to_vec(|b| encode_output_buffer_response(&out, b)) })
}
