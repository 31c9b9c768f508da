//! UTF-16LE, the string encoding of every SMB2 name (MS-SMB2 2.2).

use super::InfoError;

/// Encodes `s` as UTF-16LE without a terminator.
pub fn utf16le(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2);
    push_utf16le(&mut out, s);
    out
}

/// Appends `s` as UTF-16LE to `out`.
pub fn push_utf16le(out: &mut Vec<u8>, s: &str) {
    for unit in s.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
}

/// Length in bytes of `s` as UTF-16LE.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count() * 2
}

/// Decodes UTF-16LE. Odd byte counts and unpaired surrogates are
/// `InvalidParameter`.
pub fn from_utf16le(b: &[u8]) -> Result<String, InfoError> {
    if b.len() % 2 != 0 {
        return Err(InfoError::InvalidParameter);
    }
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units).collect::<Result<String, _>>().map_err(|_| InfoError::InvalidParameter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        assert_eq!(utf16le("a\u{e9}"), vec![0x61, 0, 0xe9, 0]);
        assert_eq!(utf16le("\u{1F600}"), vec![0x3d, 0xd8, 0x00, 0xde]);
        assert_eq!(utf16_len("\u{1F600}x"), 6);
        assert_eq!(from_utf16le(&utf16le("dir\\file.txt")).unwrap(), "dir\\file.txt");
        assert_eq!(from_utf16le(&[0x61]), Err(InfoError::InvalidParameter));
        assert_eq!(from_utf16le(&[0x00, 0xd8]), Err(InfoError::InvalidParameter));
        assert_eq!(from_utf16le(&[]).unwrap(), "");
    }
}
