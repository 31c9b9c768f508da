//! File information classes for QUERY_INFO (MS-FSCC 2.4, MS-SMB2 3.3.5.20.1,
//! MS-FSA 2.1.5.12).

use super::class::*;
use super::{
    FILE_ATTRIBUTE_REPARSE_POINT, FileInfo, Fill, InfoError, len32, patch_u32, put_u8, put_u16, put_u32, put_u64,
    wire_attributes,
};
use crate::smb::wire::utf16::{push_utf16le, utf16le};

/// Offset of NameInformation (its FileNameLength) inside FILE_ALL_INFORMATION
/// (MS-FSCC 2.4.2): Basic 40 + Standard 24 + Internal 8 + Ea 4 + Access 4 +
/// Position 8 + Mode 4 + Alignment 4.
const ALL_NAME_OFFSET: usize = 96;

/// Classes that Windows servers fail with STATUS_INVALID_INFO_CLASS rather
/// than STATUS_NOT_SUPPORTED on query (MS-SMB2 <415>): directory, set-only
/// and local classes.
const INVALID_FOR_QUERY: &[u8] = &[1, 2, 3, 10, 11, 12, 13, 19, 20, 27, 31, 36, 37, 38, 39, 40, 50];

/// Highest FILE_INFORMATION_CLASS documented in MS-FSCC 2.4.
const LAST_DOCUMENTED: u8 = 81;

/// The smallest OutputBufferLength accepted for `class`; below it the query
/// fails with STATUS_INFO_LENGTH_MISMATCH (MS-FSA 2.1.5.12.x: the fixed part,
/// `BlockAlign`ed where MS-FSA says so, e.g. 104 for FileAllInformation, 32
/// for FileStreamInformation, matching smbtorture's qfile_buffercheck).
/// Errors for classes this server does not answer.
pub fn file_info_min_len(class: u8) -> Result<usize, InfoError> {
    Ok(match class {
        FILE_BASIC_INFORMATION => 40,
        FILE_STANDARD_INFORMATION => 24,
        FILE_INTERNAL_INFORMATION => 8,
        FILE_EA_INFORMATION => 4,
        FILE_ACCESS_INFORMATION => 4,
        FILE_NAME_INFORMATION | FILE_ALTERNATE_NAME_INFORMATION | FILE_NORMALIZED_NAME_INFORMATION => 8,
        FILE_POSITION_INFORMATION => 8,
        FILE_FULL_EA_INFORMATION => 0,
        FILE_MODE_INFORMATION => 4,
        FILE_ALIGNMENT_INFORMATION => 4,
        FILE_ALL_INFORMATION => 104,
        FILE_STREAM_INFORMATION => 32,
        FILE_COMPRESSION_INFORMATION => 16,
        FILE_NETWORK_OPEN_INFORMATION => 56,
        FILE_ATTRIBUTE_TAG_INFORMATION => 8,
        FILE_ID_INFORMATION => 24,
        c if c == 0 || c > LAST_DOCUMENTED || INVALID_FOR_QUERY.contains(&c) => {
            return Err(InfoError::InvalidInfoClass);
        }
        _ => return Err(InfoError::NotSupported),
    })
}

/// MS-SMB2 3.3.5.20.1: encodes FileInformationClass `class` into `out` with
/// no output limit.
///
/// FileFullEaInformation fails here with [`InfoError::NoEasOnFile`]: the
/// EA list is the handler's (handlers/ea.rs, fscc/ea.rs), which needs the
/// open's enumeration state. FileAlternateNameInformation
/// fails with [`InfoError::ObjectNameNotFound`] when `info.short_name` is
/// empty (MS-FSA 2.1.5.12.4). FileNameInformation is answered (as Samba does)
/// although MS-FSA 2.1.5.12.19 reserves it for local callers.
pub fn encode_file_info(class: u8, info: &FileInfo, out: &mut Vec<u8>) -> Result<(), InfoError> {
    encode_file_info_limited(class, info, usize::MAX, out).map(|_| ())
}

/// Like [`encode_file_info`] within OutputBufferLength `max`:
///
/// - `max` below [`file_info_min_len`]: `Err(BufferTooSmall)`
///   (STATUS_INFO_LENGTH_MISMATCH), nothing written. Fixed-size classes can
///   only succeed whole or fail this way.
/// - Name classes (FileNameInformation, FileAlternateNameInformation,
///   FileNormalizedNameInformation, the name of FileAllInformation): the name
///   is cut to the whole UTF-16 units that fit, FileNameLength keeps the full
///   length, and the result is `Ok(Fill::BufferOverflow)` (MS-FSA
///   2.1.5.12.19).
/// - FileStreamInformation: only complete entries are written, then
///   `Ok(Fill::BufferOverflow)` (MS-FSA 2.1.5.12.29).
pub fn encode_file_info_limited(class: u8, info: &FileInfo, max: usize, out: &mut Vec<u8>) -> Result<Fill, InfoError> {
    let min = file_info_min_len(class)?;
    if max < min {
        return Err(InfoError::BufferTooSmall);
    }
    match class {
        FILE_BASIC_INFORMATION => basic(info, out),
        FILE_STANDARD_INFORMATION => standard(info, out),
        FILE_INTERNAL_INFORMATION => put_u64(out, info.index_number),
        FILE_EA_INFORMATION => put_u32(out, info.ea_size),
        FILE_ACCESS_INFORMATION => put_u32(out, info.access_flags),
        FILE_POSITION_INFORMATION => put_u64(out, info.position),
        FILE_MODE_INFORMATION => put_u32(out, info.mode),
        // FILE_BYTE_ALIGNMENT: no alignment requirement (MS-FSCC 2.4.3).
        FILE_ALIGNMENT_INFORMATION => put_u32(out, 0),
        FILE_FULL_EA_INFORMATION => return Err(InfoError::NoEasOnFile),
        FILE_NAME_INFORMATION | FILE_NORMALIZED_NAME_INFORMATION => return Ok(name_info(&info.name, max, out)),
        FILE_ALTERNATE_NAME_INFORMATION => {
            if info.short_name.is_empty() {
                return Err(InfoError::ObjectNameNotFound);
            }
            return Ok(name_info(&info.short_name, max, out));
        }
        FILE_ALL_INFORMATION => {
            basic(info, out);
            standard(info, out);
            put_u64(out, info.index_number);
            put_u32(out, info.ea_size);
            put_u32(out, info.access_flags);
            put_u64(out, info.position);
            put_u32(out, info.mode);
            put_u32(out, 0);
            return Ok(name_info(&info.name, max - ALL_NAME_OFFSET, out));
        }
        FILE_STREAM_INFORMATION => return Ok(streams(info, max, out)),
        FILE_COMPRESSION_INFORMATION => {
            // COMPRESSION_FORMAT_NONE; shifts are 0 when not compressed (MS-FSA 2.1.5.12.8).
            put_u64(out, if info.directory { 0 } else { info.allocation_size });
            put_u16(out, 0);
            out.extend_from_slice(&[0; 6]);
        }
        FILE_NETWORK_OPEN_INFORMATION => {
            times(info, out);
            put_u64(out, info.allocation_size);
            put_u64(out, info.end_of_file);
            put_u32(out, wire_attributes(info));
            put_u32(out, 0);
        }
        FILE_ATTRIBUTE_TAG_INFORMATION => {
            let attributes = wire_attributes(info);
            put_u32(out, attributes);
            put_u32(out, if attributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 { info.reparse_tag } else { 0 });
        }
        FILE_ID_INFORMATION => {
            // 128-bit FileId: the 64-bit index number, zero-extended.
            put_u64(out, info.volume_serial);
            put_u64(out, info.index_number);
            put_u64(out, 0);
        }
        _ => return Err(InfoError::NotSupported),
    }
    Ok(Fill::Complete)
}

fn times(info: &FileInfo, out: &mut Vec<u8>) {
    put_u64(out, info.creation);
    put_u64(out, info.last_access);
    put_u64(out, info.last_write);
    put_u64(out, info.change);
}

/// FILE_BASIC_INFORMATION, 40 bytes (MS-FSCC 2.4.7).
fn basic(info: &FileInfo, out: &mut Vec<u8>) {
    times(info, out);
    put_u32(out, wire_attributes(info));
    put_u32(out, 0);
}

/// FILE_STANDARD_INFORMATION, 24 bytes (MS-FSCC 2.4.47). NumberOfLinks counts
/// the links not marked for deletion; no link left means DeletePending
/// (MS-FSA 2.1.5.12.27).
fn standard(info: &FileInfo, out: &mut Vec<u8>) {
    let mut links = info.number_of_links;
    if info.delete_pending && !info.directory {
        links = links.saturating_sub(1);
    }
    let delete_pending = info.delete_pending || links == 0;
    put_u64(out, info.allocation_size);
    put_u64(out, info.end_of_file);
    put_u32(out, links);
    put_u8(out, u8::from(delete_pending));
    put_u8(out, u8::from(info.directory));
    put_u16(out, 0);
}

/// FILE_NAME_INFORMATION (MS-FSCC 2.1.7) within `max` bytes (at least 4).
fn name_info(name: &str, max: usize, out: &mut Vec<u8>) -> Fill {
    let bytes = utf16le(name);
    put_u32(out, len32(bytes.len()));
    let avail = max.saturating_sub(4) & !1;
    if avail < bytes.len() {
        out.extend_from_slice(bytes.get(..avail).unwrap_or_default());
        Fill::BufferOverflow
    } else {
        out.extend_from_slice(&bytes);
        Fill::Complete
    }
}

/// FILE_STREAM_INFORMATION entries (MS-FSCC 2.4.49), 8-byte aligned, whole
/// entries only (MS-FSA 2.1.5.12.29).
fn streams(info: &FileInfo, max: usize, out: &mut Vec<u8>) -> Fill {
    let base = out.len();
    let mut last: Option<usize> = None;
    for s in &info.streams {
        let name = utf16le(&s.name);
        let used = out.len() - base;
        let start = if last.is_some() { used.next_multiple_of(8) } else { used };
        if start + 24 + name.len() > max {
            return Fill::BufferOverflow;
        }
        out.resize(base + start, 0);
        if let Some(prev) = last {
            patch_u32(out, base + prev, len32(start - prev));
        }
        put_u32(out, 0);
        put_u32(out, len32(name.len()));
        put_u64(out, s.size);
        put_u64(out, s.allocation_size);
        push_utf16le(out, &s.name);
        last = Some(start);
    }
    Fill::Complete
}
