//! Shared quickcheck generators for the SMB2 wire round-trip properties.

use quickcheck::{Arbitrary, Gen};

use super::codec::FileId;
use super::header::HEADER_LEN;

/// A zeroed 64-byte header slot followed by `body`: what a decoder sees.
pub fn msg(body: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; HEADER_LEN];
    m.extend_from_slice(body);
    m
}

/// Up to `max` arbitrary bytes.
pub fn bytes(g: &mut Gen, max: usize) -> Vec<u8> {
    let n = usize::arbitrary(g) % (max + 1);
    (0..n).map(|_| u8::arbitrary(g)).collect()
}

/// A name of at most 64 UTF-16 code units (32 chars of up to 2 units).
pub fn name(g: &mut Gen) -> String {
    let n = usize::arbitrary(g) % 33;
    (0..n).map(|_| char::arbitrary(g)).collect()
}

pub fn guid(g: &mut Gen) -> [u8; 16] {
    let mut a = [0u8; 16];
    a.iter_mut().for_each(|b| *b = u8::arbitrary(g));
    a
}

impl Arbitrary for FileId {
    fn arbitrary(g: &mut Gen) -> Self {
        FileId { persistent: u64::arbitrary(g), volatile: u64::arbitrary(g) }
    }
}
