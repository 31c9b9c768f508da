//! The SMB codec layer: every little-endian field the SMB side reads (SMB2
//! bodies, FSCC buffers, create contexts, break acknowledgments, NTLM,
//! DCE/RPC) goes through the readers here, which are `nom` parsers over
//! `&[u8]` with one error type, [`WireError`] (the fixed-width integers are
//! written here rather than taken from `nom::number`, see [`le_u16`]). Two
//! styles, same parsers:
//!
//! - sequential: `(le_u16, le_u32, guid).parse(body)` with the nom
//!   combinators re-exported below, for fixed layouts read front to back;
//! - at an offset: [`u16_at`] and friends, for layouts addressed by the
//!   offset fields of the message itself (NameOffset, BufferOffset, ...).
//!
//! No reader panics or invents a value: past the end is
//! [`WireError::Short`], which the command handlers answer with
//! STATUS_INVALID_PARAMETER (MS-SMB2 3.3.5.2.x "malformed request") or the
//! status their section names.
//!
//! Encoders append to a caller-owned `Vec<u8>`: `fn encode(&self, out: &mut
//! Vec<u8>)`, plus the `put_*` helpers below.

use nom::Parser;
use nom::error::{ErrorKind, ParseError};
use thiserror::Error;

/// Why SMB input could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    /// A field reaches past the end of the input.
    #[error("message too short")]
    Short,
    /// The StructureSize field is not the command's.
    #[error("wrong structure size")]
    StructureSize,
    /// A field holds a value the format does not allow (bad UTF-16, an
    /// offset before the fixed part, a reserved value).
    #[error("field out of range")]
    Invalid,
}

pub type WireResult<T> = Result<T, WireError>;

/// nom's result type over SMB input.
pub type IResult<'a, O> = nom::IResult<&'a [u8], O, WireError>;

impl ParseError<&[u8]> for WireError {
    fn from_error_kind(_: &[u8], kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Verify => WireError::Invalid,
            _ => WireError::Short,
        }
    }

    fn append(_: &[u8], _: ErrorKind, other: Self) -> Self {
        other
    }
}

/// Runs a nom parser over `input` and keeps its value (the rest is the
/// caller's: SMB bodies carry padding and variable parts after the fields).
#[inline]
pub fn parse<'a, O>(input: &'a [u8], mut p: impl Parser<&'a [u8], Output = O, Error = WireError>) -> WireResult<O> {
    match p.parse(input) {
        Ok((_, v)) => Ok(v),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
        Err(nom::Err::Incomplete(_)) => Err(WireError::Short),
    }
}

/// Runs a nom parser at byte `off` of `b`.
#[inline]
pub fn parse_at<'a, O>(
    b: &'a [u8],
    off: usize,
    p: impl Parser<&'a [u8], Output = O, Error = WireError>,
) -> WireResult<O> {
    parse(b.get(off..).ok_or(WireError::Short)?, p)
}

/// Fixed-width little-endian integers as nom parsers. Not
/// `nom::number::complete::le_u16` and friends: those assemble the value a
/// byte at a time through nom's generic `Input` trait, which made the SMB2
/// header decode three times slower (codecs bench `smb2/decode_header`, 12.9
/// -> 39 ns); these take a fixed chunk and `from_le_bytes` it, with the same
/// signature and error, so they compose with every nom combinator.
macro_rules! le_int {
    ($($name:ident: $t:ty),*) => {$(
        #[inline]
        pub fn $name(i: &[u8]) -> IResult<'_, $t> {
            match i.split_first_chunk() {
                Some((a, rest)) => Ok((rest, <$t>::from_le_bytes(*a))),
                None => Err(nom::Err::Error(WireError::Short)),
            }
        }
    )*};
}
le_int!(le_u8: u8, le_u16: u16, le_u32: u32, le_u64: u64);

/// `N` bytes as an array (GUIDs, lease keys, FileIds on the wire).
#[inline]
pub fn array<const N: usize>(i: &[u8]) -> IResult<'_, [u8; N]> {
    match i.split_first_chunk::<N>() {
        Some((a, rest)) => Ok((rest, *a)),
        None => Err(nom::Err::Error(WireError::Short)),
    }
}

/// A 16-byte GUID or key.
#[inline]
pub fn guid(i: &[u8]) -> IResult<'_, [u8; 16]> {
    array::<16>(i)
}

/// Skips `n` bytes (Reserved fields).
#[inline]
pub fn skip(n: usize) -> impl Fn(&[u8]) -> IResult<'_, ()> {
    move |i: &[u8]| match i.get(n..) {
        Some(rest) => Ok((rest, ())),
        None => Err(nom::Err::Error(WireError::Short)),
    }
}

pub fn u8_at(b: &[u8], off: usize) -> WireResult<u8> {
    parse_at(b, off, le_u8)
}

pub fn u16_at(b: &[u8], off: usize) -> WireResult<u16> {
    parse_at(b, off, le_u16)
}

pub fn u32_at(b: &[u8], off: usize) -> WireResult<u32> {
    parse_at(b, off, le_u32)
}

pub fn u64_at(b: &[u8], off: usize) -> WireResult<u64> {
    parse_at(b, off, le_u64)
}

pub fn array_at<const N: usize>(b: &[u8], off: usize) -> WireResult<[u8; N]> {
    parse_at(b, off, array::<N>)
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

/// A fresh buffer holding what `encode` appends, for callers that need the
/// bytes on their own (`to_vec(|b| x.encode(b))`).
pub fn to_vec(encode: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&mut out);
    out
}

/// Zero-pads what `out` holds from `start` on to a multiple of `align`.
pub fn pad_to(out: &mut Vec<u8>, start: usize, align: usize) {
    while (out.len() - start) % align != 0 {
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
        assert_eq!(array_at::<2>(&b, 1), Ok([2, 3]));
        assert_eq!(array_at::<2>(&b, 2), Err(WireError::Short));
        assert_eq!(u8_at(&b, 3), Err(WireError::Short));
    }

    #[test]
    fn sequential_parsers_share_the_error() {
        let b = [1u8, 0, 2, 0, 0, 0, 9];
        assert_eq!(parse(&b, (le_u16, le_u32)), Ok((1, 2)));
        assert_eq!(parse(&b, (le_u16, skip(4), le_u8)), Ok((1, (), 9)));
        assert_eq!(parse(&b, (le_u16, le_u32, le_u16)), Err(WireError::Short));
        assert_eq!(parse(&b, (skip(8), le_u8)), Err(WireError::Short));
        assert_eq!(parse(&b, guid), Err(WireError::Short));
    }
}
