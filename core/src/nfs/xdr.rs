//! XDR (RFC 4506), the NFS side's one codec: [`XdrReader`], a cursor whose
//! reads are `nom` parsers (`be_u32`, `be_u64`, `take`) over `&[u8]`
//! with one error type, [`XdrError`]; and [`XdrWriter`], which appends to a `Vec<u8>`
//! (the encoder convention of the SMB codec too). Every variable length is
//! checked against the remaining input and against a caller limit before
//! anything is allocated.
//!
//! The reader is a cursor rather than a tree of combinators because XDR
//! decoding is driven by the caller's discriminants (procedure numbers, union
//! arms, optional values) one item at a time; each item is still one nom
//! parser run at the cursor.

use nom::Parser;
use nom::error::{ErrorKind, ParseError};

/// Big-endian fixed-width integers as nom parsers over XDR input (a chunk and
/// `from_be_bytes`, not `nom::number::complete::be_u32`, for the reason given
/// at `smb::wire::codec::le_u16`: nom's assembles the value byte by byte).
fn be_u32(i: &[u8]) -> nom::IResult<&[u8], u32, XdrError> {
    match i.split_first_chunk() {
        Some((a, rest)) => Ok((rest, u32::from_be_bytes(*a))),
        None => Err(nom::Err::Error(XdrError::Truncated)),
    }
}

/// `n` bytes as a nom parser: nom's `bytes::complete::take` goes through its
/// generic input traits and cost the READ call decode a fifth of its time.
fn take<'a>(n: usize) -> impl Fn(&'a [u8]) -> nom::IResult<&'a [u8], &'a [u8], XdrError> {
    move |i: &'a [u8]| match i.split_at_checked(n) {
        Some((taken, rest)) => Ok((rest, taken)),
        None => Err(nom::Err::Error(XdrError::Truncated)),
    }
}

fn be_u64(i: &[u8]) -> nom::IResult<&[u8], u64, XdrError> {
    match i.split_first_chunk() {
        Some((a, rest)) => Ok((rest, u64::from_be_bytes(*a))),
        None => Err(nom::Err::Error(XdrError::Truncated)),
    }
}

/// Why XDR input could not be decoded (answered with GARBAGE_ARGS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum XdrError {
    #[error("input truncated")]
    Truncated,
    #[error("length {len} exceeds the limit of {max}")]
    TooLong { len: u32, max: u32 },
    #[error("invalid discriminant {0}")]
    BadValue(u32),
}

pub type XdrResult<T> = Result<T, XdrError>;

/// nom's parsers fail only when the input ends early.
impl ParseError<&[u8]> for XdrError {
    fn from_error_kind(_: &[u8], _: ErrorKind) -> Self {
        XdrError::Truncated
    }

    fn append(_: &[u8], _: ErrorKind, other: Self) -> Self {
        other
    }
}

/// Padding needed after `len` bytes to reach a 4-byte boundary (RFC 4506 3).
pub const fn pad(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// A cursor over XDR input.
#[derive(Debug, Clone)]
pub struct XdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The received record `buf` is, when known: opaque data is then handed
    /// out as slices of it ([`XdrReader::opaque_bytes`]) instead of copies.
    source: Option<&'a bytes::Bytes>,
}

impl<'a> XdrReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0, source: None }
    }

    /// A reader over a received record whose opaque data may be kept
    /// without copying.
    pub fn over(record: &'a bytes::Bytes) -> Self {
        Self { buf: record, pos: 0, source: Some(record) }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Runs one nom parser at the cursor and moves past what it consumed.
    #[inline]
    fn run<O>(&mut self, mut p: impl Parser<&'a [u8], Output = O, Error = XdrError>) -> XdrResult<O> {
        let input = self.buf.get(self.pos..).unwrap_or_default();
        match p.parse(input) {
            Ok((rest, v)) => {
                self.pos = self.buf.len() - rest.len();
                Ok(v)
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
            Err(nom::Err::Incomplete(_)) => Err(XdrError::Truncated),
        }
    }

    fn take(&mut self, n: usize) -> XdrResult<&'a [u8]> {
        self.run(take(n))
    }

    pub fn u32(&mut self) -> XdrResult<u32> {
        self.run(be_u32)
    }

    pub fn i32(&mut self) -> XdrResult<i32> {
        Ok(self.u32()? as i32)
    }

    pub fn u64(&mut self) -> XdrResult<u64> {
        self.run(be_u64)
    }

    /// RFC 4506 4.4: 0 is FALSE, 1 is TRUE, anything else is invalid.
    pub fn bool(&mut self) -> XdrResult<bool> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(XdrError::BadValue(v)),
        }
    }

    /// Fixed-length opaque data (RFC 4506 4.9).
    pub fn fixed<const N: usize>(&mut self) -> XdrResult<[u8; N]> {
        let s = self.take(N)?;
        self.take(pad(N))?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// Variable-length opaque data of at most `max` bytes (RFC 4506 4.10),
    /// borrowed from the input.
    pub fn opaque(&mut self, max: u32) -> XdrResult<&'a [u8]> {
        let len = self.u32()?;
        if len > max {
            return Err(XdrError::TooLong { len, max });
        }
        let len = len as usize;
        if len.saturating_add(pad(len)) > self.remaining() {
            return Err(XdrError::Truncated);
        }
        let s = self.take(len)?;
        self.take(pad(len))?;
        Ok(s)
    }

    /// [`XdrReader::opaque`] as `Bytes`: a slice of the record when the
    /// reader was made [`XdrReader::over`] one, a copy otherwise.
    pub fn opaque_bytes(&mut self, max: u32) -> XdrResult<bytes::Bytes> {
        let s = self.opaque(max)?;
        Ok(match self.source {
            Some(record) => record.slice_ref(s),
            None => bytes::Bytes::copy_from_slice(s),
        })
    }

    /// A string of at most `max` bytes (RFC 4506 4.11); bytes, not checked
    /// for UTF-8 here.
    pub fn string(&mut self, max: u32) -> XdrResult<&'a [u8]> {
        self.opaque(max)
    }

    /// The count of a variable-length array (RFC 4506 4.13), checked against
    /// `max` and against the input left, given that each element takes at
    /// least `min_elem` bytes.
    pub fn array_len(&mut self, max: u32, min_elem: usize) -> XdrResult<usize> {
        let len = self.u32()?;
        if len > max {
            return Err(XdrError::TooLong { len, max });
        }
        if (len as usize).saturating_mul(min_elem) > self.remaining() {
            return Err(XdrError::Truncated);
        }
        Ok(len as usize)
    }

    /// The rest of the input, unparsed.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        s
    }
}

/// An XDR encoder.
#[derive(Debug, Clone, Default)]
pub struct XdrWriter {
    buf: Vec<u8>,
}

impl XdrWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Self { buf: Vec::with_capacity(n) }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.u32(v as u32)
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u32(v as u32)
    }

    /// Fixed-length opaque data, padded.
    pub fn fixed(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(&[0u8; 3][..pad(data.len())]);
        self
    }

    /// Variable-length opaque data: length, bytes, padding.
    pub fn opaque(&mut self, data: &[u8]) -> &mut Self {
        self.u32(data.len() as u32);
        self.fixed(data)
    }

    pub fn string(&mut self, s: &str) -> &mut Self {
        self.opaque(s.as_bytes())
    }

    /// Appends already-encoded XDR.
    pub fn raw(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self
    }

    /// Drops everything written after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn opaque_is_padded_to_four_bytes() {
        let mut w = XdrWriter::new();
        w.opaque(b"abcde");
        // RFC 4506 4.10: length 5, 5 bytes, 3 zero bytes of padding.
        assert_eq!(w.as_slice(), &[0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]);
        let mut r = XdrReader::new(w.as_slice());
        assert_eq!(r.opaque(8).unwrap(), b"abcde");
        assert!(r.is_empty());
    }

    #[test]
    fn lengths_are_checked_before_use() {
        // Claims 0xffff_fff0 bytes with 4 present.
        let input = [0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4];
        assert_eq!(XdrReader::new(&input).opaque(u32::MAX), Err(XdrError::Truncated));
        assert_eq!(XdrReader::new(&input).opaque(64), Err(XdrError::TooLong { len: 0xffff_fff0, max: 64 }));
        assert_eq!(XdrReader::new(&input).array_len(u32::MAX, 4), Err(XdrError::Truncated));
        // Missing padding is truncation too.
        assert_eq!(XdrReader::new(&[0, 0, 0, 1, 9]).opaque(8), Err(XdrError::Truncated));
        assert_eq!(XdrReader::new(&[0, 0, 0, 2]).bool(), Err(XdrError::BadValue(2)));
    }

    #[test]
    fn hyper_is_big_endian() {
        let mut w = XdrWriter::new();
        w.u64(0x0102_0304_0506_0708);
        assert_eq!(w.as_slice(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(XdrReader::new(w.as_slice()).u64().unwrap(), 0x0102_0304_0506_0708);
    }

    quickcheck! {
        fn round_trip(a: u32, b: u64, c: bool, d: Vec<u8>, e: String) -> bool {
            let mut w = XdrWriter::new();
            w.u32(a).u64(b).bool(c).opaque(&d).string(&e);
            let mut r = XdrReader::new(w.as_slice());
            r.u32() == Ok(a) && r.u64() == Ok(b) && r.bool() == Ok(c)
                && r.opaque(u32::MAX) == Ok(&d[..]) && r.string(u32::MAX) == Ok(e.as_bytes()) && r.is_empty()
        }

        fn never_panics(data: Vec<u8>, max: u32) -> bool {
            let mut r = XdrReader::new(&data);
            let _ = r.opaque(max);
            let _ = r.array_len(max, 4);
            let _ = r.fixed::<8>();
            let _ = r.u64();
            let _ = r.bool();
            r.remaining() <= data.len()
        }
    }
}
