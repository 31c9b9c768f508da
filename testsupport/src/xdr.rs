//! XDR (RFC 4506): big-endian 4-byte units, opaques padded to 4.

use super::{Error, Result};

/// Builds XDR data.
#[derive(Debug, Default, Clone)]
pub struct XdrWriter(pub Vec<u8>);

impl XdrWriter {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u32(u32::from(v))
    }
    /// Variable-length opaque: length, bytes, zero padding to 4.
    pub fn opaque(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.fixed(b)
    }
    /// Fixed-length opaque: bytes and zero padding to 4.
    pub fn fixed(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self.0.resize(self.0.len().next_multiple_of(4), 0);
        self
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Reads XDR data; every short read is [`Error::Malformed`].
#[derive(Debug, Clone)]
pub struct XdrReader<'a>(&'a [u8]);

impl<'a> XdrReader<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Self(b)
    }
    pub fn remaining(&self) -> &'a [u8] {
        self.0
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(Error::Malformed("short XDR"));
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Ok(h)
    }
    pub fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }
    pub fn bool(&mut self) -> Result<bool> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::Malformed("XDR bool not 0 or 1")),
        }
    }
    /// Variable-length opaque of at most `max` bytes.
    pub fn opaque(&mut self, max: usize) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(Error::Malformed("XDR opaque too long"));
        }
        self.fixed(n)
    }
    /// Fixed-length opaque of `n` bytes plus its padding.
    pub fn fixed(&mut self, n: usize) -> Result<&'a [u8]> {
        let padded = self.take(n.next_multiple_of(4))?;
        Ok(&padded[..n])
    }
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_is_padded_and_round_trips() {
        let mut w = XdrWriter::new();
        w.u32(7).opaque(b"abcde").u64(0x0102_0304_0506_0708).bool(true);
        assert_eq!(
            w.0,
            [0, 0, 0, 7, 0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1]
        );
        let mut r = XdrReader::new(&w.0);
        assert_eq!(r.u32().unwrap(), 7);
        assert_eq!(r.opaque(8).unwrap(), b"abcde");
        assert_eq!(r.u64().unwrap(), 0x0102_0304_0506_0708);
        assert!(r.bool().unwrap());
        assert!(r.remaining().is_empty());
    }

    #[test]
    fn short_and_oversized_inputs_are_errors() {
        assert!(XdrReader::new(&[0, 0, 1]).u32().is_err());
        assert!(XdrReader::new(&[0, 0, 0, 9, 1, 2]).opaque(64).is_err());
        assert!(XdrReader::new(&[0, 0, 0, 65]).opaque(64).is_err());
        assert!(XdrReader::new(&[0, 0, 0, 2]).bool().is_err());
    }
}
