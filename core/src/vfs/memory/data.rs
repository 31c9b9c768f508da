//! Sparse file contents for [`super::MemoryFs`]: fixed-size chunks allocated
//! only where data was written, so a truncate to a large size or a write far
//! past the end costs no memory for the hole.

use std::collections::BTreeMap;

/// Bytes per chunk. A chunk's vector is only as long as the highest byte
/// written in it; the rest reads as zeros.
const CHUNK: u64 = 64 * 1024;

/// Allocation granularity reported as `used`.
pub(super) const BLOCK: u64 = 4096;

pub(super) fn round_up(n: u64) -> u64 {
    n.div_ceil(BLOCK).saturating_mul(BLOCK)
}

#[derive(Debug, Default, Clone)]
pub(super) struct Data {
    size: u64,
    chunks: BTreeMap<u64, Vec<u8>>,
    /// Sum of `round_up(chunk.len())`.
    alloc: u64,
}

/// The pieces of a byte range `[offset, offset + len)` per chunk:
/// (chunk index, offset inside the chunk, length).
fn pieces(offset: u64, len: u64) -> impl Iterator<Item = (u64, usize, usize)> {
    let end = offset.saturating_add(len);
    let mut pos = offset;
    std::iter::from_fn(move || {
        if pos >= end {
            return None;
        }
        let idx = pos / CHUNK;
        let within = pos % CHUNK;
        let n = (CHUNK - within).min(end - pos);
        pos += n;
        // Both values are below CHUNK, so they fit in usize.
        Some((idx, within as usize, n as usize))
    })
}

impl Data {
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of storage held, in [`BLOCK`] units.
    pub(super) fn used(&self) -> u64 {
        self.alloc
    }

    /// Fills `buf` from `offset` (holes read as zeros) as far as the file
    /// goes; the count and whether the end was reached.
    pub(super) fn read_into(&self, offset: u64, buf: &mut [u8]) -> (usize, bool) {
        if offset >= self.size {
            return (0, true);
        }
        let end = offset.saturating_add(buf.len() as u64).min(self.size);
        let n = (end - offset) as usize;
        let mut at = 0usize;
        for (idx, within, piece) in pieces(offset, end - offset) {
            let Some(dst) = buf.get_mut(at..at + piece) else { break };
            let have = match self.chunks.get(&idx) {
                Some(chunk) => {
                    let have = chunk.len().saturating_sub(within).min(piece);
                    if let (Some(d), Some(s)) = (dst.get_mut(..have), chunk.get(within..within + have)) {
                        d.copy_from_slice(s);
                    }
                    have
                }
                None => 0,
            };
            // The buffer may be reused: what the chunk does not hold is a hole.
            if let Some(rest) = dst.get_mut(have..) {
                rest.fill(0);
            }
            at += piece;
        }
        (n, end == self.size)
    }

    /// [`Data::read_into`] into a fresh buffer of at most `len` bytes.
    #[cfg(test)]
    pub(super) fn read(&self, offset: u64, len: u32) -> (bytes::Bytes, bool) {
        let n = self.size.saturating_sub(offset).min(u64::from(len)) as usize;
        let mut out = vec![0u8; n];
        let (got, eof) = self.read_into(offset, &mut out);
        out.truncate(got);
        (bytes::Bytes::from(out), eof)
    }

    /// How much [`Data::used`] would grow by writing `len` bytes at `offset`.
    pub(super) fn growth(&self, offset: u64, len: u64) -> u64 {
        pieces(offset, len)
            .map(|(idx, within, piece)| {
                let old = self.chunks.get(&idx).map_or(0, |c| c.len()) as u64;
                let new = old.max((within + piece) as u64);
                round_up(new) - round_up(old)
            })
            .sum()
    }

    /// Writes `data` at `offset`; the caller checked the size limit.
    pub(super) fn write(&mut self, offset: u64, data: &[u8]) {
        let mut at = 0usize;
        for (idx, within, piece) in pieces(offset, data.len() as u64) {
            let chunk = self.chunks.entry(idx).or_default();
            let old = round_up(chunk.len() as u64);
            if chunk.len() < within + piece {
                chunk.resize(within + piece, 0);
            }
            if let (Some(d), Some(s)) = (chunk.get_mut(within..within + piece), data.get(at..at + piece)) {
                d.copy_from_slice(s);
            }
            self.alloc = self.alloc.saturating_sub(old) + round_up(chunk.len() as u64);
            at += piece;
        }
        if !data.is_empty() {
            self.size = self.size.max(offset + data.len() as u64);
        }
    }

    /// Zeros `[offset, offset + len)` inside the file. With `deallocate`
    /// the chunk storage the range covers at its end is freed (a hole);
    /// without, the zeros stay stored.
    pub(super) fn zero(&mut self, offset: u64, len: u64, deallocate: bool) {
        let end = offset.saturating_add(len).min(self.size);
        for (idx, within, piece) in pieces(offset, end.saturating_sub(offset)) {
            let Some(chunk) = self.chunks.get_mut(&idx) else { continue };
            let old = round_up(chunk.len() as u64);
            if deallocate && within + piece >= chunk.len() {
                chunk.truncate(within);
            } else {
                let stop = (within + piece).min(chunk.len());
                if let Some(d) = chunk.get_mut(within..stop) {
                    d.fill(0);
                }
            }
            let new = round_up(chunk.len() as u64);
            if chunk.is_empty() {
                self.chunks.remove(&idx);
            }
            self.alloc = self.alloc.saturating_sub(old) + new;
        }
    }

    /// The stored ranges inside `[offset, offset + len)` and the file, in
    /// [`BLOCK`] units, merged, at most `max`.
    pub(super) fn allocated(&self, offset: u64, len: u64, max: usize) -> Vec<(u64, u64)> {
        let end = offset.saturating_add(len).min(self.size);
        let mut out: Vec<(u64, u64)> = Vec::new();
        if offset >= end {
            return out;
        }
        for (&idx, chunk) in self.chunks.range(offset / CHUNK..=(end - 1) / CHUNK) {
            let start = (idx * CHUNK).max(offset);
            let stop = (idx * CHUNK + round_up(chunk.len() as u64)).min(end);
            if start >= stop {
                continue;
            }
            let full = out.len() == max;
            match out.last_mut() {
                Some((o, l)) if *o + *l == start => *l += stop - start,
                _ if full => break,
                _ => out.push((start, stop - start)),
            }
        }
        out
    }

    /// Truncates or extends (with a hole) to `size`.
    pub(super) fn set_size(&mut self, size: u64) {
        if size < self.size {
            let first_dropped = size.div_ceil(CHUNK);
            let dropped = self.chunks.split_off(&first_dropped);
            for chunk in dropped.values() {
                self.alloc = self.alloc.saturating_sub(round_up(chunk.len() as u64));
            }
            if size % CHUNK != 0 {
                if let Some(chunk) = self.chunks.get_mut(&(size / CHUNK)) {
                    let keep = (size % CHUNK) as usize;
                    if chunk.len() > keep {
                        let old = round_up(chunk.len() as u64);
                        chunk.truncate(keep);
                        self.alloc = self.alloc.saturating_sub(old) + round_up(keep as u64);
                    }
                }
            }
        }
        self.size = size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_write_read_truncate() {
        let mut d = Data::default();
        d.write(3 * CHUNK - 2, b"abcd");
        assert_eq!(d.size(), 3 * CHUNK + 2);
        // Holes inside a chunk are stored; whole-chunk holes are not.
        assert_eq!(d.used(), CHUNK + BLOCK);
        let (b, eof) = d.read(3 * CHUNK - 4, 100);
        assert_eq!(&b[..], b"\0\0abcd");
        assert!(eof);
        let (b, eof) = d.read(0, 4);
        assert_eq!(&b[..], b"\0\0\0\0");
        assert!(!eof);
        d.set_size(3 * CHUNK - 1);
        assert_eq!(d.used(), CHUNK);
        d.set_size(3 * CHUNK + 10);
        let (b, _) = d.read(3 * CHUNK - 2, 4);
        assert_eq!(&b[..], b"a\0\0\0");
        d.set_size(0);
        assert_eq!(d.used(), 0);
        assert_eq!(d.read(0, 10), (bytes::Bytes::new(), true));
    }

    #[test]
    fn growth_matches_write() {
        let mut d = Data::default();
        for (off, len) in [(0u64, 10usize), (5000, 70_000), (1 << 20, 1), (100, 50)] {
            let g = d.growth(off, len as u64);
            let before = d.used();
            d.write(off, &vec![7u8; len]);
            assert_eq!(d.used() - before, g);
        }
    }

    quickcheck::quickcheck! {
        fn behaves_like_a_vec(ops: Vec<(u16, u8, bool)>) -> bool {
            let mut d = Data::default();
            let mut model: Vec<u8> = Vec::new();
            for (off, len, trunc) in ops {
                let off = u64::from(off) * 2;
                if trunc {
                    d.set_size(off);
                    model.resize(off as usize, 0);
                } else {
                    let bytes = vec![len; usize::from(len)];
                    d.write(off, &bytes);
                    if len > 0 {
                        let end = off as usize + bytes.len();
                        if model.len() < end { model.resize(end, 0); }
                        model[off as usize..end].copy_from_slice(&bytes);
                    }
                }
            }
            let (all, eof) = d.read(0, u32::MAX);
            eof && all[..] == model[..]
        }
    }
}
