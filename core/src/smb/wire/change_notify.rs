//! CHANGE_NOTIFY (MS-SMB2 2.2.35, 2.2.36) and the FILE_NOTIFY_INFORMATION
//! list it returns (MS-FSCC 2.7.1).

use super::codec::{FileId, WireError, WireResult, put_u16, put_u32, structure_size, u16_at, u32_at};
use super::utf16::{from_utf16le, utf16le};

/// SMB2_WATCH_TREE: changes anywhere below the directory count.
pub const WATCH_TREE: u16 = 0x0001;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeNotifyRequest {
    pub flags: u16,
    pub output_buffer_length: u32,
    pub file_id: FileId,
    pub completion_filter: u32,
}

/// `body` is the request after the SMB2 header.
pub fn decode_change_notify(body: &[u8]) -> WireResult<ChangeNotifyRequest> {
    structure_size(body, 32)?;
    if body.len() < 32 {
        return Err(WireError::Short);
    }
    Ok(ChangeNotifyRequest {
        flags: u16_at(body, 2)?,
        output_buffer_length: u32_at(body, 4)?,
        file_id: FileId::decode(body, 8)?,
        completion_filter: u32_at(body, 24)?,
    })
}

/// Encodes a request (test clients and the fuzz target's round trip).
pub fn encode_change_notify(r: &ChangeNotifyRequest, out: &mut Vec<u8>) {
    out.reserve(32);
    put_u16(out, 32);
    put_u16(out, r.flags);
    put_u32(out, r.output_buffer_length);
    r.file_id.encode(out);
    put_u32(out, r.completion_filter);
    put_u32(out, 0);
}

/// The response body: StructureSize 9, the buffer right after the 8 fixed
/// bytes (offset 72 from the header), or no buffer at all.
pub fn encode_change_notify_response(buffer: &[u8], out: &mut Vec<u8>) {
    out.reserve(9 + buffer.len());
    put_u16(out, 9);
    put_u16(out, if buffer.is_empty() { 0 } else { 64 + 8 });
    put_u32(out, buffer.len() as u32);
    if buffer.is_empty() {
        out.push(0);
    } else {
        out.extend_from_slice(buffer);
    }
}

/// FILE_NOTIFY_INFORMATION entries, each 4-byte aligned, appended to `out`;
/// false, with `out` as it was, when they do not fit in `max` bytes (the
/// caller then answers NOTIFY_ENUM_DIR).
pub fn encode_notify_information(entries: &[(u32, String)], max: usize, out: &mut Vec<u8>) -> bool {
    let base = out.len();
    let mut last_start = None;
    for (action, name) in entries {
        while (out.len() - base) % 4 != 0 {
            out.push(0);
        }
        let start = out.len();
        if let Some(prev) = last_start {
            let next = (start - prev) as u32;
            if let Some(s) = out.get_mut(prev..prev + 4) {
                s.copy_from_slice(&next.to_le_bytes());
            }
        }
        let name16 = utf16le(name);
        put_u32(out, 0);
        put_u32(out, *action);
        put_u32(out, name16.len() as u32);
        out.extend_from_slice(&name16);
        last_start = Some(start);
        if out.len() - base > max {
            out.truncate(base);
            return false;
        }
    }
    true
}

/// Decodes a FILE_NOTIFY_INFORMATION list (test clients).
pub fn decode_notify_information(mut b: &[u8]) -> WireResult<Vec<(u32, String)>> {
    let mut out = Vec::new();
    loop {
        let next = u32_at(b, 0)? as usize;
        let action = u32_at(b, 4)?;
        let len = u32_at(b, 8)? as usize;
        let raw = b.get(12..12 + len).ok_or(WireError::Short)?;
        out.push((action, from_utf16le(raw)?));
        if next == 0 {
            return Ok(out);
        }
        b = b.get(next..).ok_or(WireError::Short)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb::wire::codec::to_vec;

    #[test]
    fn request_golden_bytes_round_trip() {
        let r = ChangeNotifyRequest {
            flags: WATCH_TREE,
            output_buffer_length: 0x1000,
            file_id: FileId { persistent: 1, volatile: 2 },
            completion_filter: 0x17,
        };
        let b = to_vec(|b| encode_change_notify(&r, b));
        assert_eq!(b.len(), 32);
        assert_eq!(&b[..8], &[32, 0, 1, 0, 0, 0x10, 0, 0]);
        assert_eq!(&b[24..28], &[0x17, 0, 0, 0]);
        assert_eq!(decode_change_notify(&b), Ok(r));
        assert!(decode_change_notify(&b[..31]).is_err());
        let mut bad = b.clone();
        bad[0] = 33;
        assert!(decode_change_notify(&bad).is_err());
    }

    /// MS-FSCC 2.7.1: entries 4-byte aligned, NextEntryOffset 0 on the last.
    #[test]
    fn notify_information_layout() {
        let e = vec![(1, "a".to_string()), (4, "bcd".to_string())];
        let mut b = Vec::new();
        assert!(encode_notify_information(&e, 1024, &mut b));
        assert_eq!(&b[..16], &[16, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', 0, 0, 0]);
        assert_eq!(&b[16..28], &[0, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0]);
        assert_eq!(b.len(), 16 + 12 + 6);
        assert_eq!(decode_notify_information(&b).unwrap(), e);
        let mut none = Vec::new();
        assert!(!encode_notify_information(&e, 33, &mut none), "does not fit");
        assert!(none.is_empty());
        let r = to_vec(|out| encode_change_notify_response(&b, out));
        assert_eq!(&r[..8], &[9, 0, 72, 0, 34, 0, 0, 0]);
        assert_eq!(to_vec(|b| encode_change_notify_response(&[], b)), vec![9, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
}
