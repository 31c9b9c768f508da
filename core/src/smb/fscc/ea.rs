//! Extended attribute lists: FILE_FULL_EA_INFORMATION (MS-FSCC 2.4.16),
//! as SET_INFO, QUERY_INFO and the "ExtA" create context carry them, and
//! FILE_GET_EA_INFORMATION (MS-FSCC 2.4.15.1), the names a QUERY_INFO may
//! ask for. One decoder and one encoder for all three places.
//!
//! An entry: NextEntryOffset (4), Flags (1: FILE_NEED_EA or 0),
//! EaNameLength (1), EaValueLength (2), the ASCII name and a NUL, the
//! value. Entries start on 4-byte boundaries; the last has
//! NextEntryOffset 0 and no padding.

use super::InfoError;
use crate::smb::wire::codec::{le_u8, le_u16, le_u32, parse};

/// FILE_NEED_EA (MS-FSCC 2.4.16): the file cannot be read correctly
/// without this EA. Accepted and not kept (smbd keeps no flags either):
/// entries come back with Flags 0.
pub const FILE_NEED_EA: u8 = 0x80;

/// The fixed part of an entry, before the name.
const HEADER: usize = 8;

/// MS-FSA 2.1.5.15.6: the largest EA set, 64 KiB less 5 bytes of
/// [`packed_size`].
pub const MAX_EA_SET: usize = 65_536 - 5;

/// One FILE_FULL_EA_INFORMATION entry. An empty value in a SET deletes
/// the EA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EaEntry {
    pub flags: u8,
    /// ASCII, without the terminating NUL.
    pub name: String,
    pub value: Vec<u8>,
}

/// MS-FSCC 2.4.16 (and 2.1.5.2's rule for EA names): printable ASCII
/// except `\ / : * ? " < > | , + = [ ] ;`, 1 to 255 characters.
pub fn valid_ea_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.iter().all(|&c| (0x20..0x7f).contains(&c) && !b"\\/:*?\"<>|,+=[];".contains(&c))
}

/// The bytes of an entry without its padding.
fn entry_len(name: usize, value: usize) -> usize {
    HEADER + name + 1 + value
}

fn align4(n: usize) -> usize {
    n.next_multiple_of(4)
}

/// Decodes a chain of FILE_FULL_EA_INFORMATION entries.
///
/// Errors: `EaListInconsistent` (STATUS_EA_LIST_INCONSISTENT) for a
/// malformed chain (a field past the buffer, a name without its NUL, an
/// offset that is not 4-aligned or overlaps its entry, an empty buffer);
/// `InvalidEaName` (STATUS_INVALID_EA_NAME) for a name or flags MS-FSCC
/// forbids (MS-FSA 2.1.5.15.6).
pub fn decode_full_ea_list(buf: &[u8]) -> Result<Vec<EaEntry>, InfoError> {
    let bad = InfoError::EaListInconsistent;
    let mut entries = Vec::new();
    let mut off = 0usize;
    loop {
        let rest = buf.get(off..).ok_or(bad.clone())?;
        let (next, flags, name_len, value_len) = parse(rest, (le_u32, le_u8, le_u8, le_u16)).or(Err(bad.clone()))?;
        let (next, name_len, value_len) = (next as usize, usize::from(name_len), usize::from(value_len));
        let name = rest.get(HEADER..HEADER + name_len).ok_or(bad.clone())?;
        if rest.get(HEADER + name_len) != Some(&0) {
            return Err(bad);
        }
        let len = entry_len(name_len, value_len);
        let value = rest.get(HEADER + name_len + 1..len).ok_or(bad.clone())?;
        if next != 0 && (next < len || next % 4 != 0) {
            return Err(bad);
        }
        if flags & !FILE_NEED_EA != 0 || !valid_ea_name(name) {
            return Err(InfoError::InvalidEaName);
        }
        entries.push(EaEntry { flags, name: String::from_utf8_lossy(name).into_owned(), value: value.to_vec() });
        if next == 0 {
            return Ok(entries);
        }
        off += next;
    }
}

/// Decodes a chain of FILE_GET_EA_INFORMATION entries (MS-FSCC 2.4.15.1:
/// NextEntryOffset (4), EaNameLength (1), the name, a NUL): the names
/// asked for. `EaListInconsistent` for a malformed chain, `InvalidEaName`
/// for a name MS-FSCC forbids.
pub fn decode_get_ea_list(buf: &[u8]) -> Result<Vec<String>, InfoError> {
    let bad = InfoError::EaListInconsistent;
    let mut names = Vec::new();
    let mut off = 0usize;
    loop {
        let rest = buf.get(off..).ok_or(bad.clone())?;
        let (next, name_len) = parse(rest, (le_u32, le_u8)).or(Err(bad.clone()))?;
        let (next, name_len) = (next as usize, usize::from(name_len));
        let name = rest.get(5..5 + name_len).ok_or(bad.clone())?;
        if rest.get(5 + name_len) != Some(&0) || next != 0 && (next < 6 + name_len || next % 4 != 0) {
            return Err(bad);
        }
        if !valid_ea_name(name) {
            return Err(InfoError::InvalidEaName);
        }
        names.push(String::from_utf8_lossy(name).into_owned());
        if next == 0 {
            return Ok(names);
        }
        off += next;
    }
}

/// ExtendedAttributesLength (MS-FSA 2.1.1.3) of `eas` (name, value): the
/// packed size NTFS keeps, per EA Flags (1), name length (1), value length
/// (2), the name with its NUL and the value. [`MAX_EA_SET`] limits it.
pub fn packed_size<'a>(eas: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> usize {
    eas.into_iter().map(|(name, value)| 4 + name.len() + 1 + value.len()).sum()
}

/// EaSize of FileEaInformation, FileAllInformation and directory entries
/// (MS-FSA 2.1.5.12.11, 2.1.5.6.3): the packed size plus 4 for the list's
/// header, 0 without EAs.
pub fn ea_size<'a>(eas: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> u32 {
    match packed_size(eas) {
        0 => 0,
        n => u32::try_from(n + 4).unwrap_or(u32::MAX),
    }
}

/// How much of a list an output buffer took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EaFill {
    /// Every entry given was written.
    All,
    /// The first `n` entries were written (at least one); more did not fit.
    Some(usize),
    /// Not even the first entry fits (STATUS_BUFFER_TOO_SMALL).
    None,
}

/// Encodes `eas` (name, value) as a FILE_FULL_EA_INFORMATION list of
/// whole entries within `max` bytes (MS-FSA 2.1.5.12.12). Flags are 0.
/// Names are at most 255 bytes and values at most 65535 (the caller's
/// list is filtered so).
pub fn encode_full_ea_list<'a>(eas: impl IntoIterator<Item = (&'a str, &'a [u8])>, max: usize, out: &mut Vec<u8>) -> EaFill {
    let start = out.len();
    let mut last: Option<usize> = None;
    for (n, (name, value)) in eas.into_iter().enumerate() {
        let at = align4(out.len() - start);
        if at + entry_len(name.len(), value.len()) > max {
            return if n == 0 { EaFill::None } else { EaFill::Some(n) };
        }
        if let Some(prev) = last {
            // Pad the previous entry and point it here.
            out.resize(start + at, 0);
            let next = (at - prev) as u32;
            out[start + prev..start + prev + 4].copy_from_slice(&next.to_le_bytes());
        }
        last = Some(at);
        out.extend_from_slice(&0u32.to_le_bytes());
        out.push(0);
        out.push(name.len() as u8);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
    }
    EaFill::All
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{Arbitrary, Gen, quickcheck};

    fn ea(next: u32, flags: u8, name: &[u8], value: &[u8]) -> Vec<u8> {
        let mut b = next.to_le_bytes().to_vec();
        b.push(flags);
        b.push(name.len() as u8);
        b.extend_from_slice(&(value.len() as u16).to_le_bytes());
        b.extend_from_slice(name);
        b.push(0);
        b.extend_from_slice(value);
        b
    }

    fn get(next: u32, name: &[u8]) -> Vec<u8> {
        let mut b = next.to_le_bytes().to_vec();
        b.push(name.len() as u8);
        b.extend_from_slice(name);
        b.push(0);
        b
    }

    #[test]
    fn full_lists_decode() {
        let mut first = ea(20, 0x80, b"EAONE", b"VALUE1");
        first.resize(20, 0);
        let list = [first, ea(0, 0, b"TWO", b"")].concat();
        assert_eq!(
            decode_full_ea_list(&list),
            Ok(vec![
                EaEntry { flags: 0x80, name: "EAONE".into(), value: b"VALUE1".to_vec() },
                EaEntry { flags: 0, name: "TWO".into(), value: vec![] },
            ])
        );
        let bad = InfoError::EaListInconsistent;
        let name = InfoError::InvalidEaName;
        assert_eq!(decode_full_ea_list(&ea(0, 1, b"A", b"v")), Err(name.clone()));
        assert_eq!(decode_full_ea_list(&ea(0, 0, b"A:B", b"v")), Err(name.clone()));
        assert_eq!(decode_full_ea_list(&ea(0, 0, b"A\x01", b"v")), Err(name.clone()));
        assert_eq!(decode_full_ea_list(&ea(0, 0, b"", b"v")), Err(name));
        assert_eq!(decode_full_ea_list(&ea(64, 0, b"A", b"v")), Err(bad.clone()));
        assert_eq!(decode_full_ea_list(&ea(4, 0, b"A", b"v")), Err(bad.clone()));
        assert_eq!(decode_full_ea_list(&ea(14, 0, b"A", b"v")), Err(bad.clone()), "not 4-aligned");
        let mut cut = ea(0, 0, b"A", b"value");
        cut.pop();
        assert_eq!(decode_full_ea_list(&cut), Err(bad.clone()));
        let mut no_nul = ea(0, 0, b"AB", b"");
        no_nul[10] = b'x';
        assert_eq!(decode_full_ea_list(&no_nul), Err(bad.clone()));
        assert_eq!(decode_full_ea_list(&[]), Err(bad));
    }

    #[test]
    fn get_lists_decode() {
        let mut first = get(12, b"EAONE");
        first.resize(12, 0);
        let list = [first, get(0, b"x.y")].concat();
        assert_eq!(decode_get_ea_list(&list), Ok(vec!["EAONE".to_string(), "x.y".to_string()]));
        let bad = InfoError::EaListInconsistent;
        assert_eq!(decode_get_ea_list(&get(0, b"A*")), Err(InfoError::InvalidEaName));
        assert_eq!(decode_get_ea_list(&get(4, b"AB")), Err(bad.clone()));
        assert_eq!(decode_get_ea_list(&get(0, b"AB")[..7]), Err(bad.clone()));
        assert_eq!(decode_get_ea_list(&[1, 0, 0]), Err(bad));
    }

    #[test]
    fn encoding_pads_between_entries_and_stops_at_whole_entries() {
        let eas = [("EAONE", &b"VALUE1"[..]), ("SECONDEA", &b"ValueTwo"[..])];
        let mut out = Vec::new();
        assert_eq!(encode_full_ea_list(eas, 1000, &mut out), EaFill::All);
        // 8 + 5 + 1 + 6 = 20, then 8 + 8 + 1 + 8 = 25.
        assert_eq!(out.len(), 45);
        assert_eq!(out, [ea(20, 0, b"EAONE", b"VALUE1"), ea(0, 0, b"SECONDEA", b"ValueTwo")].concat());
        let mut out = Vec::new();
        assert_eq!(encode_full_ea_list(eas, 44, &mut out), EaFill::Some(1));
        assert_eq!(out, ea(0, 0, b"EAONE", b"VALUE1"));
        let mut out = Vec::new();
        assert_eq!(encode_full_ea_list(eas.into_iter().take(1), 1000, &mut out), EaFill::All);
        assert_eq!(out, ea(0, 0, b"EAONE", b"VALUE1"));
        assert_eq!(encode_full_ea_list(eas, 19, &mut Vec::new()), EaFill::None);
    }

    #[test]
    fn sizes() {
        let eas = [("EAONE", &b"VALUE1"[..]), ("SECONDEA", &b"ValueTwo"[..])];
        // 4 + 5 + 1 + 6 = 16, 4 + 8 + 1 + 8 = 21; EaSize adds 4.
        assert_eq!(packed_size(eas), 37);
        assert_eq!(ea_size(eas), 41);
        assert_eq!(ea_size([]), 0);
    }

    #[derive(Debug, Clone)]
    struct Ea(String, Vec<u8>);

    impl Arbitrary for Ea {
        fn arbitrary(g: &mut Gen) -> Self {
            let chars: Vec<u8> = (0x20u8..0x7f).filter(|c| valid_ea_name(&[*c])).collect();
            let len = usize::arbitrary(g) % 20 + 1;
            let name = (0..len).map(|_| *g.choose(&chars).unwrap() as char).collect();
            Ea(name, Vec::<u8>::arbitrary(g))
        }
    }

    quickcheck! {
        fn full_lists_round_trip(eas: Vec<Ea>) -> bool {
            let mut out = Vec::new();
            let fill = encode_full_ea_list(eas.iter().map(|e| (e.0.as_str(), &e.1[..])), usize::MAX, &mut out);
            let want: Vec<EaEntry> =
                eas.iter().map(|e| EaEntry { flags: 0, name: e.0.clone(), value: e.1.clone() }).collect();
            fill == EaFill::All && if eas.is_empty() { out.is_empty() } else { decode_full_ea_list(&out) == Ok(want) }
        }

        fn decoders_never_panic(buf: Vec<u8>) -> bool {
            let _ = decode_full_ea_list(&buf);
            let _ = decode_get_ea_list(&buf);
            true
        }
    }
}
