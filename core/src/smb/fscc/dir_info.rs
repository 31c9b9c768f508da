//! Directory enumeration classes for QUERY_DIRECTORY (MS-FSCC 2.4.8, 2.4.10,
//! 2.4.15, 2.4.22, 2.4.23, 2.4.24, 2.4.33; MS-SMB2 3.3.5.18; MS-FSA 2.1.5.6.3).

use super::class::*;
use super::{
    FILE_ATTRIBUTE_REPARSE_POINT, FileInfo, InfoError, len32, patch_u32, put_u8, put_u16, put_u32, put_u64,
    wire_attributes,
};
use crate::smb::wire::utf16::{push_utf16le, utf16_len, utf16le};

/// One entry of a directory listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirEntryInfo {
    /// The entry's name ("." and ".." are valid).
    pub name: String,
    /// FileIndex; 0 for file systems without stable positions (MS-FSCC 2.4.10).
    pub file_index: u32,
    /// Times, sizes, attributes, index_number, ea_size, reparse_tag.
    pub info: FileInfo,
    /// 8.3 name for the Both classes; may be empty. At most 12 characters
    /// are sent (ShortName is 24 bytes).
    pub short_name: String,
}

/// Size of the fixed part (the offset of FileName) of one entry of `class`.
/// `InvalidInfoClass` for non-directory classes, `NotSupported` for the
/// 64-bit/all-id extended classes (MS-SMB2 3.3.5.18).
pub fn dir_entry_fixed_len(class: u8) -> Result<usize, InfoError> {
    Ok(match class {
        FILE_DIRECTORY_INFORMATION => 64,
        FILE_FULL_DIRECTORY_INFORMATION => 68,
        FILE_BOTH_DIRECTORY_INFORMATION => 94,
        FILE_NAMES_INFORMATION => 12,
        FILE_ID_BOTH_DIRECTORY_INFORMATION => 104,
        FILE_ID_FULL_DIRECTORY_INFORMATION => 80,
        FILE_ID_EXTD_DIRECTORY_INFORMATION => 88,
        FILE_ID_64_EXTD_DIRECTORY_INFORMATION
        | FILE_ID_64_EXTD_BOTH_DIRECTORY_INFORMATION
        | FILE_ID_ALL_EXTD_DIRECTORY_INFORMATION
        | FILE_ID_ALL_EXTD_BOTH_DIRECTORY_INFORMATION => return Err(InfoError::NotSupported),
        _ => return Err(InfoError::InvalidInfoClass),
    })
}

/// Appends entries of `class` while they fit in `max_len` bytes (counted from
/// `out.len()` at the call): each entry starts 8-byte aligned (zero padding),
/// NextEntryOffset chains them, the last has 0 and no trailing padding. Stops
/// after one entry if `single` (SMB2_RETURN_SINGLE_ENTRY). Returns how many
/// entries were written; the first entry that did not fit has been taken from
/// the iterator but not written, so callers resume from the count.
///
/// `Ok(0)` only when the iterator was empty (STATUS_NO_MORE_FILES or
/// STATUS_NO_SUCH_FILE for the caller). `Err(BufferTooSmall)`
/// (STATUS_INFO_LENGTH_MISMATCH) when `max_len` is below the fixed part or the
/// first entry does not fit whole (MS-FSA 2.1.5.6.3 would return a cut name
/// with STATUS_BUFFER_OVERFLOW there; clients never depend on it and a cut
/// name would lose the entry).
pub fn encode_dir_entries<'a>(
    class: u8,
    entries: impl Iterator<Item = &'a DirEntryInfo>,
    max_len: usize,
    single: bool,
    out: &mut Vec<u8>,
) -> Result<usize, InfoError> {
    let fixed = dir_entry_fixed_len(class)?;
    if max_len < fixed {
        return Err(InfoError::BufferTooSmall);
    }
    let base = out.len();
    let mut last: Option<usize> = None;
    let mut count = 0;
    for entry in entries {
        let used = out.len() - base;
        let start = if last.is_some() { used.next_multiple_of(8) } else { used };
        let end = start.saturating_add(fixed).saturating_add(utf16_len(&entry.name));
        if end > max_len {
            if count == 0 {
                return Err(InfoError::BufferTooSmall);
            }
            break;
        }
        out.resize(base + start, 0);
        if let Some(prev) = last {
            patch_u32(out, base + prev, len32(start - prev));
        }
        write_entry(class, entry, out);
        last = Some(start);
        count += 1;
        if single {
            break;
        }
    }
    Ok(count)
}

/// One entry with NextEntryOffset 0.
fn write_entry(class: u8, e: &DirEntryInfo, out: &mut Vec<u8>) {
    let name_len = len32(utf16_len(&e.name));
    put_u32(out, 0);
    put_u32(out, e.file_index);
    if class == FILE_NAMES_INFORMATION {
        put_u32(out, name_len);
        push_utf16le(out, &e.name);
        return;
    }
    let info = &e.info;
    let attributes = wire_attributes(info);
    let reparse = attributes & FILE_ATTRIBUTE_REPARSE_POINT != 0;
    put_u64(out, info.creation);
    put_u64(out, info.last_access);
    put_u64(out, info.last_write);
    put_u64(out, info.change);
    put_u64(out, info.end_of_file);
    put_u64(out, info.allocation_size);
    put_u32(out, attributes);
    put_u32(out, name_len);
    // EaSize holds the reparse tag of reparse points (MS-FSCC 2.4.8).
    let ea_size = if reparse { info.reparse_tag } else { info.ea_size };
    match class {
        FILE_FULL_DIRECTORY_INFORMATION => put_u32(out, ea_size),
        FILE_ID_FULL_DIRECTORY_INFORMATION => {
            put_u32(out, ea_size);
            put_u32(out, 0);
            put_u64(out, info.index_number);
        }
        FILE_BOTH_DIRECTORY_INFORMATION | FILE_ID_BOTH_DIRECTORY_INFORMATION => {
            put_u32(out, ea_size);
            short_name(&e.short_name, out);
            if class == FILE_ID_BOTH_DIRECTORY_INFORMATION {
                put_u16(out, 0);
                put_u64(out, info.index_number);
            }
        }
        FILE_ID_EXTD_DIRECTORY_INFORMATION => {
            put_u32(out, info.ea_size);
            put_u32(out, if reparse { info.reparse_tag } else { 0 });
            put_u64(out, info.index_number);
            put_u64(out, 0);
        }
        _ => {}
    }
    push_utf16le(out, &e.name);
}

/// ShortNameLength (1), Reserved (1), ShortName (24, zero padded).
fn short_name(name: &str, out: &mut Vec<u8>) {
    let mut bytes = utf16le(name);
    bytes.truncate(24);
    put_u8(out, bytes.len() as u8);
    put_u8(out, 0);
    let start = out.len();
    out.extend_from_slice(&bytes);
    out.resize(start + 24, 0);
}
