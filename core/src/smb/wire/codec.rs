//! Bounds-checked little-endian field access shared by the SMB2 codecs.
//! Every getter returns `None` past the end, so a decoder never panics.

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("message too short")]
    Short,
    #[error("wrong structure size")]
    StructureSize,
    #[error("field out of range")]
    Invalid,
}

pub type WireResult<T> = Result<T, WireError>;

pub fn u8_at(b: &[u8], off: usize) -> WireResult<u8> {
    b.get(off).copied().ok_or(WireError::Short)
}

pub fn u16_at(b: &[u8], off: usize) -> WireResult<u16> {
    let s = b.get(off..off.checked_add(2).ok_or(WireError::Short)?).ok_or(WireError::Short)?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

pub fn u32_at(b: &[u8], off: usize) -> WireResult<u32> {
    Ok(u32::from_le_bytes(array_at::<4>(b, off)?))
}

pub fn u64_at(b: &[u8], off: usize) -> WireResult<u64> {
    Ok(u64::from_le_bytes(array_at::<8>(b, off)?))
}

pub fn array_at<const N: usize>(b: &[u8], off: usize) -> WireResult<[u8; N]> {
    let s = b.get(off..off.checked_add(N).ok_or(WireError::Short)?).ok_or(WireError::Short)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Ok(a)
}

/// `len` bytes at `off`; a zero length is always valid (offset ignored).
pub fn slice_at(b: &[u8], off: usize, len: usize) -> WireResult<&[u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    b.get(off..off.checked_add(len).ok_or(WireError::Short)?).ok_or(WireError::Short)
}

/// Checks the fixed StructureSize at the start of a request body.
pub fn structure_size(body: &[u8], expected: u16) -> WireResult<()> {
    match u16_at(body, 0)? == expected {
        true => Ok(()),
        false => Err(WireError::StructureSize),
    }
}

/// A 16-byte SMB2_FILEID: Persistent then Volatile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId {
    pub persistent: u64,
    pub volatile: u64,
}

impl FileId {
    /// The "use the FileId of the previous create" value of related compounds.
    pub const RELATED: FileId = FileId { persistent: u64::MAX, volatile: u64::MAX };

    pub fn decode(b: &[u8], off: usize) -> WireResult<FileId> {
        Ok(FileId { persistent: u64_at(b, off)?, volatile: u64_at(b, off + 8)? })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.persistent);
        put_u64(out, self.volatile);
    }
}

pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Zero-pads `out` to a multiple of `align`.
pub fn pad_to(out: &mut Vec<u8>, align: usize) {
    while out.len() % align != 0 {
        out.push(0);
    }
}

/// Overwrites a u16/u32 placeholder written earlier.
pub fn patch_u16(out: &mut [u8], off: usize, v: u16) {
    if let Some(s) = out.get_mut(off..off + 2) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

pub fn patch_u32(out: &mut [u8], off: usize, v: u32) {
    if let Some(s) = out.get_mut(off..off + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

/// UTF-16LE bytes to a String; odd lengths and unpaired surrogates fail.
pub fn utf16_to_string(b: &[u8]) -> WireResult<String> {
    if b.len() % 2 != 0 {
        return Err(WireError::Invalid);
    }
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| WireError::Invalid)
}

pub fn string_to_utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_are_bounds_checked() {
        let b = [1u8, 2, 3];
        assert_eq!(u16_at(&b, 1), Ok(0x0302));
        assert_eq!(u16_at(&b, 2), Err(WireError::Short));
        assert_eq!(u32_at(&b, 0), Err(WireError::Short));
        assert_eq!(u64_at(&b, usize::MAX), Err(WireError::Short));
        assert_eq!(slice_at(&b, 99, 0), Ok(&[][..]));
        assert_eq!(slice_at(&b, 2, 2), Err(WireError::Short));
    }

    #[test]
    fn utf16_round_trip() {
        assert_eq!(string_to_utf16("a\\b"), vec![b'a', 0, b'\\', 0, b'b', 0]);
        assert_eq!(utf16_to_string(&string_to_utf16("dir\\ä")).as_deref(), Ok("dir\\ä"));
        assert!(utf16_to_string(&[0x41]).is_err());
        assert!(utf16_to_string(&[0x00, 0xD8]).is_err());
    }
}
