//! Minimal DER for SPNEGO (X.690): one-byte tags, definite lengths up to
//! 2^24, no recursion; every length is checked against the input.

/// Universal and context tags used by SPNEGO.
pub const SEQUENCE: u8 = 0x30;
pub const OID: u8 = 0x06;
pub const OCTET_STRING: u8 = 0x04;
pub const ENUMERATED: u8 = 0x0a;
pub const BIT_STRING: u8 = 0x03;
pub const GENERAL_STRING: u8 = 0x1b;
/// GSS-API InitialContextToken: [APPLICATION 0] constructed.
pub const APPLICATION_0: u8 = 0x60;

/// Context-specific constructed tag `[n]`.
pub const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerError(pub &'static str);

/// One TLV: its tag, its contents, and the whole encoding.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads one TLV from the start of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (&tag, rest) = input.split_first().ok_or(DerError("truncated tag"))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError("multi-byte tag"));
    }
    let (&first, mut rest) = rest.split_first().ok_or(DerError("truncated length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 {
            return Err(DerError("indefinite length"));
        }
        if n > 3 {
            return Err(DerError("length too large"));
        }
        let (bytes, r) = rest.split_at_checked(n).ok_or(DerError("truncated length"))?;
        rest = r;
        bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (value, after) = rest.split_at_checked(len).ok_or(DerError("length past end"))?;
    let raw_len = input.len() - after.len();
    let raw = input.get(..raw_len).ok_or(DerError("length past end"))?;
    Ok((Tlv { tag, value, raw }, after))
}

/// Reads one TLV that must carry `tag`.
pub fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (tlv, rest) = read(input)?;
    if tlv.tag != tag {
        return Err(DerError("unexpected tag"));
    }
    Ok((tlv, rest))
}

/// Iterates over the TLVs of a constructed value's contents.
pub fn items(mut input: &[u8]) -> impl Iterator<Item = Result<Tlv<'_>, DerError>> {
    std::iter::from_fn(move || {
        if input.is_empty() {
            return None;
        }
        match read(input) {
            Ok((tlv, rest)) => {
                input = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                input = &[];
                Some(Err(e))
            }
        }
    })
}

/// Encodes one TLV.
// Returns its bytes rather than appending: a DER length precedes its value, so nested TLVs are built inside out.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xffff {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    } else {
        out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(value);
    out
}

/// Concatenates encoded TLVs into one constructed TLV.
// Returns its bytes rather than appending, for the same reason as `tlv`.
pub fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn length_forms() {
        assert_eq!(tlv(OCTET_STRING, &[1, 2]), vec![4, 2, 1, 2]);
        let v = vec![7u8; 200];
        let e = tlv(OCTET_STRING, &v);
        assert_eq!(&e[..3], &[4, 0x81, 200]);
        let v = vec![7u8; 300];
        let e = tlv(OCTET_STRING, &v);
        assert_eq!(&e[..4], &[4, 0x82, 1, 44]);
        let (t, rest) = read(&e).unwrap();
        assert_eq!(t.value.len(), 300);
        assert_eq!(t.raw, &e[..]);
        assert!(rest.is_empty());
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(read(&[]).is_err());
        assert!(read(&[4]).is_err());
        assert!(read(&[4, 3, 1, 2]).is_err());
        assert!(read(&[4, 0x80, 0, 0]).is_err());
        assert!(read(&[4, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(read(&[4, 0x82, 0xff]).is_err());
        assert!(read(&[0x1f, 1, 0]).is_err());
    }

    quickcheck! {
        fn round_trip(tag: u8, value: Vec<u8>) -> bool {
            let tag = tag & !0x1f | 0x04;
            let e = tlv(tag, &value);
            matches!(read(&e), Ok((t, rest)) if t.tag == tag && t.value == &value[..] && rest.is_empty())
        }

        fn read_never_panics(data: Vec<u8>) -> bool {
            let _ = items(&data).count();
            true
        }
    }
}
