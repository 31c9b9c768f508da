//! UTF-16LE, the string encoding of every SMB2 name, NTLM field and NDR
//! string (MS-SMB2 2.2, MS-NLMP 2.2, MS-RPCE 2.2.5.3.4.1). The one place the
//! SMB side converts between `str` and UTF-16LE bytes.

use super::codec::{WireError, WireResult};

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

fn units(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]))
}

/// Decodes UTF-16LE. An odd byte count or an unpaired surrogate is
/// [`WireError::Invalid`] (answered STATUS_INVALID_PARAMETER, or
/// STATUS_OBJECT_NAME_INVALID where the command says so).
pub fn from_utf16le(b: &[u8]) -> WireResult<String> {
    if b.len() % 2 != 0 {
        return Err(WireError::Invalid);
    }
    // Through a Vec<u16>: String::from_utf16 is several times faster than
    // collecting decode_utf16 char by char (CREATE decodes every name).
    let units: Vec<u16> = units(b).collect();
    String::from_utf16(&units).map_err(|_| WireError::Invalid)
}

/// Decodes UTF-16LE, replacing unpaired surrogates with U+FFFD and ignoring
/// a trailing odd byte: for names that are only reported or compared (the
/// NTLM user and domain, MS-NLMP 3.3.2), never used as a path.
pub fn from_utf16le_lossy(b: &[u8]) -> String {
    char::decode_utf16(units(b)).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        assert_eq!(utf16le("a\u{e9}"), vec![0x61, 0, 0xe9, 0]);
        assert_eq!(utf16le("\u{1F600}"), vec![0x3d, 0xd8, 0x00, 0xde]);
        assert_eq!(utf16le("a\\b"), vec![b'a', 0, b'\\', 0, b'b', 0]);
        assert_eq!(utf16_len("\u{1F600}x"), 6);
        assert_eq!(from_utf16le(&utf16le("dir\\file.txt")).unwrap(), "dir\\file.txt");
        assert_eq!(from_utf16le(&utf16le("dir\\ä")).as_deref(), Ok("dir\\ä"));
        assert_eq!(from_utf16le(&[0x61]), Err(WireError::Invalid));
        assert_eq!(from_utf16le(&[0x00, 0xd8]), Err(WireError::Invalid));
        assert_eq!(from_utf16le(&[]).unwrap(), "");
    }

    #[test]
    fn lossy_replaces_what_strict_rejects() {
        assert_eq!(from_utf16le_lossy(&utf16le("alice")), "alice");
        assert_eq!(from_utf16le_lossy(&[0x61, 0, 0x00, 0xd8]), "a\u{FFFD}");
        assert_eq!(from_utf16le_lossy(&[0x61, 0, 0x62]), "a");
    }
}
