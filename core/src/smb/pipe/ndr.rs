//! NDR transfer syntax, little-endian only ([C706] chapter 14): the few
//! primitives the srvsvc calls use. Alignment is relative to the start of
//! the stub data.

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NdrError {
    #[error("stub data ends early")]
    Short,
    #[error("malformed conformant varying string")]
    BadString,
}

/// The first referent id; later ones step by 4 (as Windows and Samba do).
const FIRST_REFERENT: u32 = 0x0002_0000;

/// Builds NDR stub data.
#[derive(Debug, Default)]
pub struct NdrWriter {
    pub buf: Vec<u8>,
    next_ref: u32,
}

impl NdrWriter {
    pub fn new() -> Self {
        Self { buf: Vec::new(), next_ref: FIRST_REFERENT }
    }

    /// Pads with zeros to a multiple of `n` (C706 14.2.2).
    pub fn align(&mut self, n: usize) {
        while self.buf.len() % n != 0 {
            self.buf.push(0);
        }
    }

    pub fn u16(&mut self, v: u16) {
        self.align(2);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A non-null full/unique pointer: a fresh referent id (C706 14.3.11).
    pub fn referent(&mut self) -> u32 {
        let r = self.next_ref;
        self.next_ref = self.next_ref.wrapping_add(4);
        self.u32(r);
        r
    }

    /// A null pointer.
    pub fn null(&mut self) {
        self.u32(0);
    }

    /// A conformant varying string of UTF-16 units with its terminating NUL
    /// ([string] wchar_t*, C706 14.3.4): max count, offset 0, actual count.
    pub fn wstring(&mut self, s: &str) {
        let units: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
        let n = units.len() as u32;
        self.u32(n);
        self.u32(0);
        self.u32(n);
        for u in units {
            self.buf.extend_from_slice(&u.to_le_bytes());
        }
    }
}

/// Reads NDR stub data; every failure is an [`NdrError`].
#[derive(Debug)]
pub struct NdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Longest string accepted from a peer, in UTF-16 units.
const MAX_STRING_UNITS: u32 = 4096;

impl<'a> NdrReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn align(&mut self, n: usize) -> Result<(), NdrError> {
        let pad = (n - self.pos % n) % n;
        self.take(pad).map(|_| ())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], NdrError> {
        let end = self.pos.checked_add(n).ok_or(NdrError::Short)?;
        let s = self.buf.get(self.pos..end).ok_or(NdrError::Short)?;
        self.pos = end;
        Ok(s)
    }

    pub fn u32(&mut self) -> Result<u32, NdrError> {
        self.align(4)?;
        crate::smb::wire::codec::u32_at(self.take(4)?, 0).or(Err(NdrError::Short))
    }

    /// A unique pointer: whether its referent follows.
    pub fn pointer(&mut self) -> Result<bool, NdrError> {
        Ok(self.u32()? != 0)
    }

    /// A conformant varying UTF-16 string; the terminating NUL is dropped.
    pub fn wstring(&mut self) -> Result<String, NdrError> {
        let max = self.u32()?;
        let offset = self.u32()?;
        let actual = self.u32()?;
        if offset != 0 || actual > max || actual > MAX_STRING_UNITS {
            return Err(NdrError::BadString);
        }
        let bytes = self.take(actual as usize * 2)?;
        let bytes = bytes.strip_suffix(&[0, 0]).unwrap_or(bytes);
        crate::smb::wire::utf16::from_utf16le(bytes).map_err(|_| NdrError::BadString)
    }

    /// A unique pointer to a string: None when null.
    pub fn unique_wstring(&mut self) -> Result<Option<String>, NdrError> {
        match self.pointer()? {
            true => self.wstring().map(Some),
            false => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_layout_and_alignment() {
        let mut w = NdrWriter::new();
        w.buf.push(0xAA);
        w.wstring("ab");
        w.u32(7);
        let want = [
            0xAA, 0, 0, 0, // pad to 4
            3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, // max, offset, actual
            b'a', 0, b'b', 0, 0, 0, // "ab\0"
            0, 0, // pad to 4
            7, 0, 0, 0,
        ];
        assert_eq!(w.buf, want);
    }

    #[test]
    fn referents_step_by_four() {
        let mut w = NdrWriter::new();
        assert_eq!(w.referent(), 0x0002_0000);
        w.null();
        assert_eq!(w.referent(), 0x0002_0004);
        assert_eq!(w.buf, [0, 0, 2, 0, 0, 0, 0, 0, 4, 0, 2, 0]);
    }

    #[test]
    fn reads_back_strings() {
        let mut w = NdrWriter::new();
        w.referent();
        w.wstring("IPC$");
        w.wstring("");
        w.u32(5);
        let mut r = NdrReader::new(&w.buf);
        assert_eq!(r.unique_wstring(), Ok(Some("IPC$".into())));
        assert_eq!(r.wstring(), Ok(String::new()));
        assert_eq!(r.u32(), Ok(5));
        assert_eq!(r.u32(), Err(NdrError::Short));
    }

    #[test]
    fn refuses_bad_strings() {
        // actual > max
        let b = [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(NdrReader::new(&b).wstring(), Err(NdrError::BadString));
        // huge count, no data
        let b = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x0F];
        assert_eq!(NdrReader::new(&b).wstring(), Err(NdrError::BadString));
        let b = [4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0];
        assert_eq!(NdrReader::new(&b).wstring(), Err(NdrError::Short));
    }
}
